import type { RunState } from './run-state.js';

/**
 * The Sweeps view's leaderboard, computed from the sweep folder's trial runs themselves (each a
 * normal run folder: config.json, metrics.csv, best/, last/). What it assumes of `sweep.json` is
 * only this: when it has a `grid` object (config key → the values tried), the grid's keys other
 * than `seed` are the settings that tell trials apart; without one, those settings are the config
 * keys whose values differ between the trials. Either way, trials with the same settings are
 * repeats (seeds) of one setting, and their best validation accuracies are averaged.
 */
export interface SweepTrial {
  id: string;
  /** The trial's resolved config (config.json). */
  config: unknown;
  /** Best val_acc in its metrics.csv. */
  bestVal: number | null;
  test: number | null;
  state: RunState;
}

export interface LeaderboardRow {
  rank: number;
  settings: Record<string, unknown>;
  trials: string[];
  /** Each trial's best val_acc, in the order of `trials`. */
  trialVals: (number | null)[];
  /** Mean and sample standard deviation (n − 1) of the trials' best val_acc; std is null for one trial. */
  meanVal: number | null;
  stdVal: number | null;
  bestVal: number | null;
  meanTest: number | null;
  finished: number;
  live: number;
}

export interface Leaderboard {
  keys: string[];
  /** Where `keys` came from, for the page to say. */
  keySource: 'sweep.json grid' | 'config keys that differ between trials';
  rows: LeaderboardRow[];
}

/** Keys that differ between trials without being a setting: a trial's identity and its seed. */
const NOT_SETTINGS = new Set(['seed', 'run_name', 'checkpoint_dir']);

export function sweepLeaderboard(sweepJson: unknown, trials: SweepTrial[]): Leaderboard {
  const grid = isObject(sweepJson) && isObject(sweepJson.grid) ? Object.keys(sweepJson.grid).filter((k) => !NOT_SETTINGS.has(k)) : null;
  const keys = grid ?? differingKeys(trials.map((t) => t.config));
  const groups = new Map<string, SweepTrial[]>();
  for (const trial of trials) {
    const id = JSON.stringify(keys.map((k) => lookup(trial.config, k) ?? null));
    groups.set(id, [...(groups.get(id) ?? []), trial]);
  }
  const rows = [...groups.values()].map((group) => {
    const vals = group.map((t) => t.bestVal).filter((v): v is number => v !== null && Number.isFinite(v));
    const tests = group.map((t) => t.test).filter((v): v is number => v !== null);
    return {
      rank: 0,
      settings: Object.fromEntries(keys.map((k) => [k, lookup(group[0].config, k) ?? null])),
      trials: group.map((t) => t.id),
      trialVals: group.map((t) => t.bestVal),
      meanVal: vals.length ? mean(vals) : null,
      stdVal: vals.length > 1 ? sampleStd(vals) : null,
      bestVal: vals.length ? Math.max(...vals) : null,
      meanTest: tests.length ? mean(tests) : null,
      finished: group.filter((t) => t.state === 'finished').length,
      live: group.filter((t) => t.state === 'live').length,
    };
  });
  rows.sort((a, b) => (b.meanVal ?? -Infinity) - (a.meanVal ?? -Infinity));
  rows.forEach((row, i) => (row.rank = i + 1));
  return { keys, keySource: grid ? 'sweep.json grid' : 'config keys that differ between trials', rows };
}

function differingKeys(configs: unknown[]): string[] {
  const values = new Map<string, Set<string>>();
  for (const config of configs) {
    for (const [key, value] of flatten(config)) {
      if (NOT_SETTINGS.has(key)) continue;
      values.set(key, (values.get(key) ?? new Set()).add(JSON.stringify(value)));
    }
  }
  // A key present in only some configs differs too (absent ≠ present).
  return [...values.entries()].filter(([key, set]) => set.size > 1 || configs.some((c) => lookup(c, key) === undefined)).map(([key]) => key);
}

function flatten(value: unknown, prefix = ''): [string, unknown][] {
  if (!isObject(value)) return [[prefix, value]];
  return Object.entries(value).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
}

function lookup(config: unknown, key: string): unknown {
  return key.split('.').reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), config);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sampleStd(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}
