import type { z } from 'zod';
import { UserError } from '../errors.js';
import { ConfigSchema } from './schema.js';

/**
 * Applies one `--set a.b.c=value` to a raw config object. The value is typed by the schema: the
 * key path is looked up in ConfigSchema and the text converted to that key's type (number, boolean,
 * null for nullable keys, JSON for tuples), so `--set model.pool=mean` and `--set train.epochs=5`
 * both do what they say. Range checks happen later, in the schema parse, like for the file.
 */
export function applyOverride(config: Record<string, unknown>, assignment: string): void {
  const eq = assignment.indexOf('=');
  if (eq <= 0) throw new UserError(`--set ${assignment}: expected key.path=value`);
  const keyPath = assignment.slice(0, eq);
  const text = assignment.slice(eq + 1);
  const keys = keyPath.split('.');
  const leaf = schemaAt(keyPath, keys);

  let target = config;
  for (const key of keys.slice(0, -1)) {
    const next = target[key];
    if (next === undefined) target[key] = {};
    else if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      throw new UserError(`--set ${keyPath}: ${key} is not an object in the config`);
    }
    target = target[key] as Record<string, unknown>;
  }
  target[keys[keys.length - 1]] = coerce(keyPath, text, leaf);
}

type Def = { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType>; in?: z.ZodType; out?: z.ZodType };
const defOf = (schema: z.ZodType): Def => schema._zod.def as unknown as Def;

/**
 * Strips default/optional/nullable wrappers, remembering whether null is allowed, and looks
 * through pipes (z.preprocess, as the model section uses) to the side that is an object.
 */
function unwrap(schema: z.ZodType): { base: z.ZodType; nullable: boolean } {
  let nullable = false;
  let s = schema;
  for (let def = defOf(s); def.innerType || def.type === 'pipe'; def = defOf(s)) {
    if (def.type === 'nullable') nullable = true;
    s = def.type === 'pipe' ? (defOf(def.out!).shape ? def.out! : def.in!) : def.innerType!;
  }
  return { base: s, nullable };
}

function schemaAt(keyPath: string, keys: string[]): { base: z.ZodType; nullable: boolean } {
  let node = unwrap(ConfigSchema);
  for (const [i, key] of keys.entries()) {
    const shape = defOf(node.base).shape;
    if (!shape) throw new UserError(`--set ${keyPath}: ${keys.slice(0, i).join('.')} is not an object`);
    if (!(key in shape)) {
      const where = keys.slice(0, i).join('.') || 'the top level';
      throw new UserError(`--set ${keyPath}: unknown key (${where} has: ${Object.keys(shape).join(', ')})`);
    }
    node = unwrap(shape[key]);
  }
  return node;
}

function coerce(keyPath: string, text: string, leaf: { base: z.ZodType; nullable: boolean }): unknown {
  if (leaf.nullable && text === 'null') return null;
  const type = defOf(leaf.base).type;
  switch (type) {
    case 'number': {
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n)) throw new UserError(`--set ${keyPath}: expected a number, got "${text}"`);
      return n;
    }
    case 'boolean':
      if (text === 'true' || text === 'false') return text === 'true';
      throw new UserError(`--set ${keyPath}: expected true or false, got "${text}"`);
    case 'string':
    case 'enum':
      return text;
    default:
      try {
        return JSON.parse(text);
      } catch {
        throw new UserError(`--set ${keyPath}: expected a JSON ${type} value, got "${text}"`);
      }
  }
}
