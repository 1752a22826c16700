import { UserError } from '../errors.js';
import { Rng } from '../util/rng.js';
import { splitList } from './grid.js';

/** One `--random key=distribution`, kept as typed for sweep.json and for comparing commands. */
export interface RandomAxis {
  key: string;
  dist: string;
}

type Distribution =
  | { kind: 'uniform' | 'loguniform'; lo: number; hi: number }
  | { kind: 'randint'; lo: number; hi: number }
  | { kind: 'choice'; values: string[] };

export const DISTRIBUTIONS = 'uniform(a,b), loguniform(a,b), randint(a,b) or choice(v1,v2,…)';

export function parseRandomFlag(flag: string): RandomAxis {
  const eq = flag.indexOf('=');
  if (eq <= 0) throw new UserError(`--random ${flag}: expected key=distribution, e.g. --random optimizer.lr=loguniform(1e-4,1e-2)`);
  const axis = { key: flag.slice(0, eq), dist: flag.slice(eq + 1).trim() };
  parseDistribution(axis);
  return axis;
}

function parseDistribution({ key, dist }: RandomAxis): Distribution {
  const what = `--random ${key}=${dist}`;
  const match = /^(\w+)\((.*)\)$/s.exec(dist);
  if (!match) throw new UserError(`${what}: expected ${DISTRIBUTIONS}`);
  const [, kind, inner] = match;
  const args = splitList(inner, what);
  if (kind === 'choice') {
    if (args.some((a) => a === '')) throw new UserError(`${what}: an empty choice`);
    return { kind, values: args };
  }
  if (kind !== 'uniform' && kind !== 'loguniform' && kind !== 'randint') throw new UserError(`${what}: unknown distribution ${kind} (expected ${DISTRIBUTIONS})`);
  const numbers = args.map(Number);
  if (args.length !== 2 || args.some((a) => a === '') || !numbers.every(Number.isFinite)) {
    throw new UserError(`${what}: expected two numbers, ${kind}(low,high)`);
  }
  const [lo, hi] = numbers;
  if (kind === 'randint' && !(Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi)) {
    throw new UserError(`${what}: expected integers low <= high (both included)`);
  }
  if (kind !== 'randint' && !(lo < hi)) throw new UserError(`${what}: expected low < high`);
  if (kind === 'loguniform' && !(lo > 0)) throw new UserError(`${what}: loguniform needs 0 < low`);
  return { kind, lo, hi };
}

/**
 * `trials` draws of every random axis, as `--set` text. The draws come from an Rng seeded with
 * `seed`, so the same command always draws the same values; numbers keep 3 significant digits,
 * so that they read well in tables and a setting is exactly reproducible from its text.
 */
export function drawSettings(axes: RandomAxis[], trials: number, seed: number): Record<string, string>[] {
  const rng = new Rng(seed);
  const dists = axes.map((a) => ({ key: a.key, dist: parseDistribution(a) }));
  return Array.from({ length: trials }, () => Object.fromEntries(dists.map(({ key, dist }) => [key, draw(dist, rng)])));
}

function draw(d: Distribution, rng: Rng): string {
  switch (d.kind) {
    case 'choice':
      return d.values[rng.int(d.values.length)];
    case 'randint':
      return String(d.lo + rng.int(d.hi - d.lo + 1));
    case 'uniform':
      return String(Number(rng.uniform(d.lo, d.hi).toPrecision(3)));
    case 'loguniform':
      return String(Number(Math.exp(rng.uniform(Math.log(d.lo), Math.log(d.hi))).toPrecision(3)));
  }
}
