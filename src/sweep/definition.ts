import { readFile } from 'node:fs/promises';
import { normalize } from 'node:path';
import { loadConfig, parseConfig } from '../config/load.js';
import { applyOverride } from '../config/override.js';
import type { Config } from '../config/schema.js';
import { UserError } from '../errors.js';
import { type GridAxis, gridPoints, parseGridFlag } from './grid.js';
import { SweepLayout, trialIds } from './layout.js';
import { type RandomAxis, drawSettings, parseRandomFlag } from './random-search.js';

/** What `vit sweep create` was asked for: re-running the same command compares these. */
export interface SweepDefinition {
  /** The base config's path, as given (a `vit train --config` for the best setting names it). */
  config: string;
  /** Its content when the sweep was created. */
  base: Record<string, unknown>;
  grid: GridAxis[];
  /** Seeds per setting (base seed, base seed + 1, …); 1 without --seeds. Null: `--grid seed=…` lists them. */
  seeds: number | null;
  random: RandomAxis[];
  /** --trials: how many settings the random search draws (null: no random search). */
  random_trials: number | null;
}

export interface TrialSpec {
  /** Its folder name and index in the Slurm job array: 000, 001, … */
  id: string;
  /** The keys it sets on the base config, as `--set` text: grid and random values, not the seed. */
  setting: Record<string, string>;
  seed: number;
}

/** sweep.json. */
export interface SweepFile {
  vit_sweep: 1;
  created: string;
  definition: SweepDefinition;
  trials: TrialSpec[];
}

export interface Sweep {
  layout: SweepLayout;
  file: SweepFile;
}

export interface CreateFlags {
  config: string;
  grid?: string[];
  seeds?: string;
  random?: string[];
  trials?: string;
}

/** Keys the sweep sets itself: each trial's run is checkpoints/NNN under the sweep folder. */
const SWEEP_OWNED_KEYS = ['checkpoint_dir', 'run_name'];
/** More trials than this is more likely a typo in a grid than a plan. */
const MAX_TRIALS = 10_000;

/** Reads the base config and the flags into a definition; every problem is one UserError line. */
export async function defineSweep(flags: CreateFlags): Promise<SweepDefinition> {
  loadConfig(flags.config); // the base must be valid on its own: its errors name the file
  const base = JSON.parse(await readFile(flags.config, 'utf8')) as Record<string, unknown>;
  const grid = (flags.grid ?? []).map(parseGridFlag);
  const random = (flags.random ?? []).map(parseRandomFlag);
  const keys = [...grid.map((g) => g.key), ...random.map((r) => r.key)];
  const twice = keys.find((k, i) => keys.indexOf(k) !== i);
  if (twice) throw new UserError(`${twice} is swept twice (give each key in one --grid or --random)`);
  const owned = keys.find((k) => SWEEP_OWNED_KEYS.includes(k));
  if (owned) throw new UserError(`--grid/--random ${owned}: the sweep sets it (each trial's run is checkpoints/NNN in the sweep folder)`);
  if (random.some((r) => r.key === 'seed')) throw new UserError('--random seed: use --seeds N, or --grid seed=… for chosen seeds');

  const seedGrid = grid.find((g) => g.key === 'seed');
  if (seedGrid && flags.seeds !== undefined) throw new UserError('--seeds and --grid seed=…: give the seeds one way');
  const seeds = seedGrid ? null : flags.seeds === undefined ? 1 : positiveInt(flags.seeds, '--seeds');
  const randomTrials = flags.trials === undefined ? null : positiveInt(flags.trials, '--trials');
  if (random.length > 0 && randomTrials === null) throw new UserError('--random needs --trials N: how many settings to draw');
  if (random.length === 0 && randomTrials !== null) throw new UserError('--trials N is the number of --random draws: give at least one --random key=distribution');
  if (grid.length === 0 && random.length === 0 && seeds === 1) {
    throw new UserError('nothing to sweep: give --grid key=v1,v2,…, --seeds N or --random key=distribution with --trials N');
  }
  return { config: normalize(flags.config), base, grid, seeds, random, random_trials: randomTrials };
}

function positiveInt(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} ${text}: expected a whole number, at least 1`);
  return n;
}

/**
 * The definition's trials, each with its fully resolved config, validated by the config schema:
 * the first that is invalid is one UserError line, before anything is written. Settings are the
 * grid's combinations (first --grid changing slowest), each with every random draw; each setting
 * runs once per seed, seeds innermost.
 */
export function expandTrials(def: SweepDefinition, layout: SweepLayout): { trials: TrialSpec[]; configs: Config[] } {
  const baseSeed = parseConfig(def.base, def.config).seed;
  const seedGrid = def.grid.find((g) => g.key === 'seed');
  const seeds = seedGrid ? seedGrid.values.map((v) => seedValue(v)) : Array.from({ length: def.seeds ?? 1 }, (_, i) => baseSeed + i);
  const draws = def.random_trials === null ? [{}] : drawSettings(def.random, def.random_trials, baseSeed);
  const settings = gridPoints(def.grid.filter((g) => g.key !== 'seed')).flatMap((point) => draws.map((d) => ({ ...point, ...d })));
  const count = settings.length * seeds.length;
  if (count > MAX_TRIALS) throw new UserError(`that is ${count.toLocaleString('en-US')} trials, more than ${MAX_TRIALS.toLocaleString('en-US')}: check the --grid values and --trials`);

  const ids = trialIds(count);
  const trials: TrialSpec[] = [];
  const configs: Config[] = [];
  for (const setting of settings) {
    for (const seed of seeds) {
      const id = ids[trials.length];
      const raw = structuredClone(def.base);
      for (const [key, value] of Object.entries(setting)) setKey(raw, key, value, def);
      Object.assign(raw, { seed, run_name: id, checkpoint_dir: layout.checkpointDir });
      configs.push(parseConfig(raw, `trial ${id} (${settingLabel({ ...setting, seed: String(seed) })})`));
      trials.push({ id, setting, seed });
    }
  }
  return { trials, configs };
}

function seedValue(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new UserError(`--grid seed=…: ${text} is not a seed (expected a whole number, at least 0)`);
  return n;
}

/** `--set`'s typing and key checks, with its messages naming the flag the value came from. */
function setKey(raw: Record<string, unknown>, key: string, value: string, def: SweepDefinition): void {
  try {
    applyOverride(raw, `${key}=${value}`);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    const flag = def.grid.some((g) => g.key === key) ? '--grid' : '--random';
    throw new UserError(err.message.replace(/^--set /, `${flag} `));
  }
}

/** `optimizer.lr=0.002 seed=1`. */
export function settingLabel(setting: Record<string, string>): string {
  return Object.entries(setting)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** The keys a sweep varies (besides the seed), in the order they were given. */
export function sweptKeys(def: SweepDefinition): string[] {
  return [...def.grid.map((g) => g.key).filter((k) => k !== 'seed'), ...def.random.map((r) => r.key)];
}

export async function readSweep(dir: string): Promise<Sweep> {
  const layout = new SweepLayout(dir);
  let text: string;
  try {
    text = await readFile(layout.sweepFile, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`${dir}: not a sweep (no sweep.json; define one with vit sweep create --config … --grid … --out ${dir})`);
    }
    throw err;
  }
  let file: SweepFile;
  try {
    file = JSON.parse(text) as SweepFile;
  } catch (err) {
    throw new UserError(`${layout.sweepFile}: invalid JSON: ${(err as Error).message}`);
  }
  if (file.vit_sweep !== 1 || !Array.isArray(file.trials)) throw new UserError(`${layout.sweepFile}: not a sweep file written by vit sweep create`);
  return { layout, file };
}

/** The datasets a sweep's trials train on: the base config's data.dataset and any a grid or random axis sets. */
export function trialDatasets(sweep: Sweep): string[] {
  const base = (sweep.file.definition.base.data as { dataset?: unknown } | undefined)?.dataset;
  const named = [base ?? 'cifar10', ...sweep.file.trials.map((t) => t.setting['data.dataset'])];
  return [...new Set(named.filter((n): n is string => typeof n === 'string'))];
}
