import type { DataConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { IMAGE_BYTES, type Cifar10, type Split } from './cifar10.js';

/** Images [start, end) of a split, as views of the same memory (no copy). */
function slice(split: Split, start: number, end: number): Split {
  return {
    images: split.images.subarray(start * IMAGE_BYTES, end * IMAGE_BYTES),
    labels: split.labels.subarray(start, end),
    count: end - start,
  };
}

/** The first `n` images (all of them when the split is smaller). */
export function takeFirst(split: Split, n: number): Split {
  return slice(split, 0, Math.min(n, split.count));
}

/** The last `n` images become `val`, the rest `train`. */
export function holdOut(split: Split, n: number): { train: Split; val: Split } {
  if (n < 1 || n >= split.count) {
    throw new UserError(`data.val_split: cannot hold out ${n} of ${split.count} training images (expected 1 to ${split.count - 1})`);
  }
  return { train: slice(split, 0, split.count - n), val: slice(split, split.count - n, split.count) };
}

/**
 * Applies the config's `data` limits: `limit_train` first, then `val_split` holds out the last
 * images of what remains. `val` is null when `val_split` is 0 (the run evaluates on `test`).
 */
export function selectSplits(
  data: Cifar10,
  config: Pick<DataConfig, 'limit_train' | 'limit_test' | 'val_split'>,
): { train: Split; val: Split | null; test: Split } {
  const train = config.limit_train === null ? data.train : takeFirst(data.train, config.limit_train);
  const test = config.limit_test === null ? data.test : takeFirst(data.test, config.limit_test);
  if (config.val_split === 0) return { train, val: null, test };
  return { ...holdOut(train, config.val_split), test };
}
