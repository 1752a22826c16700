import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { z } from 'zod';
import { UserError } from '../errors.js';
import { type Config, ConfigSchema } from './schema.js';
import { applyOverride } from './override.js';

/**
 * Reads a JSON config, applies `--set key.path=value` overrides, fills defaults and validates.
 * Every problem becomes one UserError line naming the file, the key path and what was expected.
 */
export function loadConfig(path: string, overrides: string[] = []): Config {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UserError(`config file not found: ${path}`);
    if (err instanceof SyntaxError) throw new UserError(`${path}: invalid JSON: ${err.message}`);
    throw new UserError(`${path}: cannot read: ${e.message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new UserError(`${path}: expected a JSON object at the top level`);
  }
  for (const o of overrides) applyOverride(raw as Record<string, unknown>, o);
  const config = parseConfig(raw, path);
  return { ...config, run_name: config.run_name ?? basename(path).replace(/\.json$/, '') };
}

/** Validates an already-parsed config object (e.g. the config.json saved with a checkpoint). */
export function parseConfig(raw: unknown, source: string): Config {
  const result = ConfigSchema.safeParse(raw);
  if (!result.success) throw new UserError(`${source}: ${formatIssues(result.error.issues, raw)}`);
  return result.data;
}

function formatIssues(issues: z.core.$ZodIssue[], raw: unknown): string {
  return issues
    .map((issue) => {
      const path = issue.path.join('.');
      if (issue.code === 'unrecognized_keys') {
        const keys = issue.keys.map((k) => (path ? `${path}.${k}` : k));
        const unknown = `unknown key${keys.length > 1 ? 's' : ''} ${keys.join(', ')}`;
        return path === 'model' ? `${unknown} (not a key of model.name '${modelName(raw)}': docs/families.md lists each family's keys)` : unknown;
      }
      return `${path || '(top level)'}: ${issue.message}`;
    })
    .join('; ');
}

/** The model family a raw config names ('vit' when it names none). */
function modelName(raw: unknown): string {
  const name = (raw as { model?: { name?: unknown } } | null)?.model?.name;
  return typeof name === 'string' ? name : 'vit';
}
