import { CHANNELS } from './cifar10.js';

/** CIFAR-10 training-set per-channel (R, G, B) mean and standard deviation of pixels in [0, 1]. */
export const CIFAR10_MEAN = [0.4914, 0.4822, 0.4465] as const;
export const CIFAR10_STD = [0.247, 0.2435, 0.2616] as const;

/**
 * `table[c * 256 + v]` is byte `v` of channel `c` scaled to [0, 1] and standardized. A pixel has
 * only 256 possible values per channel, so one lookup replaces the arithmetic in the hot loop.
 */
export function normalizationTable(mean: readonly number[], std: readonly number[]): Float32Array {
  const table = new Float32Array(CHANNELS * 256);
  for (let c = 0; c < CHANNELS; c++) {
    for (let v = 0; v < 256; v++) table[c * 256 + v] = (v / 255 - mean[c]) / std[c];
  }
  return table;
}

export const CIFAR10_NORMALIZATION = normalizationTable(CIFAR10_MEAN, CIFAR10_STD);

const tables = new Map<string, Float32Array>();

/** The normalisation table of a config's `data.mean` and `data.std` (built once per pair). */
export function normalizationOf(data: { mean: readonly number[]; std: readonly number[] }): Float32Array {
  const key = JSON.stringify([data.mean, data.std]);
  let table = tables.get(key);
  if (!table) tables.set(key, (table = normalizationTable(data.mean, data.std)));
  return table;
}
