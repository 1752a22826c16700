import { type Config, ConfigSchema, ModelSchema } from './schema.js';

/** Keys worth showing even at their defaults: what a reader of a training log asks first. */
const HEADLINE: Record<string, readonly string[]> = {
  model: ['name'],
  optimizer: ['name', 'lr'],
  schedule: ['name'],
  train: ['epochs', 'batch_size', 'max_minutes'],
};

/** Sections whose keys say how a run is identified rather than what it trains. */
const RUN_SECTION = 'run';

export interface SummaryLine {
  section: string;
  /** `key=value` pairs: the headline keys, then every key that differs from the defaults. */
  text: string;
}

/**
 * A short account of a resolved config, one line per section: its headline keys and the keys that
 * differ from the schema's defaults. It is derived from the schema, so a key added to it shows up
 * here without an edit. `extra` prepends facts per section (e.g. the model's parameter count).
 */
export function summarizeConfig(config: Config, extra: Record<string, string> = {}): SummaryLine[] {
  const lines: SummaryLine[] = [];
  const runPairs: string[] = [];
  const defaults = ConfigSchema.parse({}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(config as Record<string, unknown>)) {
    if (!isSection(value)) {
      if (key === 'run_name' || !same(value, defaults[key])) runPairs.push(`${key}=${format(value)}`);
      continue;
    }
    const base = sectionDefaults(key, value) ?? (defaults[key] as Record<string, unknown>);
    const headline = (HEADLINE[key] ?? []).filter((k) => k in value);
    const changed = flatten(value).filter(([path, v]) => !headline.includes(path) && !same(v, lookup(base, path)));
    const pairs = [...headline.map((k) => `${k}=${format(value[k])}`), ...changed.map(([p, v]) => `${p}=${format(v)}`)];
    const text = [extra[key], pairs.join(' ') || 'defaults'].filter(Boolean).join(' · ');
    lines.push({ section: key, text });
  }
  return [{ section: RUN_SECTION, text: runPairs.join(' ') }, ...lines];
}

/**
 * The defaults a section is compared against: those of its own variant when it names one
 * (`optimizer.name`, `schedule.name`, a model family), else the schema's plain defaults.
 */
function sectionDefaults(key: string, value: Record<string, unknown>): Record<string, unknown> | undefined {
  if (!('name' in value)) return undefined;
  // A family's own schema: its name alone may not make a whole config valid (a mobilevit needs data.resize).
  if (key === 'model') {
    const model = ModelSchema.safeParse({ name: value.name });
    return model.success ? (model.data as Record<string, unknown>) : undefined;
  }
  const parsed = ConfigSchema.safeParse({ [key]: { name: value.name } });
  return parsed.success ? ((parsed.data as Record<string, unknown>)[key] as Record<string, unknown>) : undefined;
}

function isSection(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `{a: {b: 1}, c: 2}` → `[['a.b', 1], ['c', 2]]`; arrays are leaves. */
function flatten(obj: Record<string, unknown>, prefix = ''): [string, unknown][] {
  return Object.entries(obj).flatMap(([k, v]) => (isSection(v) ? flatten(v, `${prefix}${k}.`) : [[`${prefix}${k}`, v] as [string, unknown]]));
}

function lookup(obj: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((o, k) => (isSection(o) ? o[k] : undefined), obj);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function format(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}
