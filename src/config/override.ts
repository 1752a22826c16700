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
  const leaf = schemaAt(keyPath, keys, config);

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

type Def = { type: string; innerType?: z.ZodType; shape?: Record<string, z.ZodType>; in?: z.ZodType; out?: z.ZodType; options?: z.ZodType[] };
const defOf = (schema: z.ZodType): Def => schema._zod.def as unknown as Def;

/**
 * Strips default/optional/nullable wrappers, remembering whether null is allowed, looks through
 * pipes (z.preprocess, as the model and optimizer sections use) to the side that is an object,
 * and takes the option of a union (the model families) that `section` (the raw config's section
 * there) names by its `name` ('vit' when it names none).
 */
function unwrap(schema: z.ZodType, section?: unknown): { base: z.ZodType; nullable: boolean } {
  let nullable = false;
  let s = schema;
  for (let def = defOf(s); def.innerType || def.type === 'pipe' || def.type === 'union'; def = defOf(s)) {
    if (def.type === 'nullable') nullable = true;
    if (def.type === 'union') s = unionOption(def.options!, section);
    else s = def.type === 'pipe' ? (isObjectOrUnion(def.out!) ? def.out! : def.in!) : def.innerType!;
  }
  return { base: s, nullable };
}

function isObjectOrUnion(schema: z.ZodType): boolean {
  const def = defOf(schema);
  return Boolean(def.shape) || def.type === 'union';
}

/** The option of a union of objects whose literal `name` is the one `section` has (default 'vit'). */
function unionOption(options: z.ZodType[], section: unknown): z.ZodType {
  const raw = (section as { name?: unknown } | undefined)?.name;
  const name = typeof raw === 'string' ? raw : 'vit';
  const nameOf = (option: z.ZodType) => (defOf(defOf(option).shape!.name) as unknown as { values: unknown[] }).values?.[0];
  const option = options.find((o) => nameOf(o) === name);
  if (!option) throw new UserError(`--set: no model family '${name}' (there are: ${options.map(nameOf).join(', ')})`);
  return option;
}

function schemaAt(keyPath: string, keys: string[], config: Record<string, unknown>): { base: z.ZodType; nullable: boolean } {
  let node = unwrap(ConfigSchema);
  let section: unknown = config;
  for (const [i, key] of keys.entries()) {
    const shape = defOf(node.base).shape;
    if (!shape) throw new UserError(`--set ${keyPath}: ${keys.slice(0, i).join('.')} is not an object`);
    if (!(key in shape)) {
      const where = keys.slice(0, i).join('.') || 'the top level';
      throw new UserError(`--set ${keyPath}: unknown key (${where} has: ${Object.keys(shape).join(', ')})`);
    }
    section = (section as Record<string, unknown> | undefined)?.[key];
    node = unwrap(shape[key], section);
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
    case 'literal':
      return text;
    default:
      try {
        return JSON.parse(text);
      } catch {
        throw new UserError(`--set ${keyPath}: expected a JSON ${type} value, got "${text}"`);
      }
  }
}
