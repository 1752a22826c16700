import type { NamedArrays } from './checkpoint.js';

/**
 * What each tensor of a checkpoint's optimizer.safetensors is, by the prefix of its name (the rest
 * is the parameter's name): the one place these prefixes are spelled.
 */
export const STATE_PREFIX = {
  /** Adam's first and second moments (optimizer.ts). */
  adamFirstMoment: 'm/',
  adamSecondMoment: 'v/',
  /** Muon's momentum buffers (muon.ts). */
  muonMomentum: 'muon/',
  /** SGD's momentum buffers. */
  sgdMomentum: 'sgd/',
  /** With train.ema on, the raw training weights (the weights file holds the average). */
  rawWeights: 'w/',
  /** With train.lookahead on (and started), its slow weights. */
  slowWeights: 'la/',
} as const;

export type StatePrefix = (typeof STATE_PREFIX)[keyof typeof STATE_PREFIX];

/** `tensors` under `prefix` + their names. */
export function withPrefix<T>(prefix: StatePrefix, tensors: Record<string, T>): Record<string, T> {
  return Object.fromEntries(Object.entries(tensors).map(([name, t]) => [prefix + name, t]));
}

/** The arrays named `prefix` + a name, by that name. */
export function underPrefix(prefix: StatePrefix, arrays: NamedArrays): NamedArrays {
  return Object.fromEntries(Object.entries(arrays).filter(([name]) => name.startsWith(prefix)).map(([name, a]) => [name.slice(prefix.length), a]));
}

/** Whether `name` belongs to the optimizer's own state (its moments), not to EMA or lookahead. */
export function isOptimizerMoment(name: string): boolean {
  return !name.startsWith(STATE_PREFIX.rawWeights) && !name.startsWith(STATE_PREFIX.slowWeights);
}
