import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';
import { IDENTITY, randomView, writeImage, type View } from './augment.js';
import { CHANNELS, IMAGE_BYTES, IMAGE_SIZE, type Split } from './cifar10.js';
import { CIFAR10_NORMALIZATION } from './normalize.js';

/** `size` normalized NHWC images (`x`, size·32·32·3 floats) and their labels. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  size: number;
}

export interface TrainBatchOptions {
  batchSize: number;
  /** The epoch's randomness: its shuffle and every crop and flip come from here. */
  rng: Rng;
  /** Zero padding on each side before the random 32x32 crop (0: no cropping). */
  cropPadding: number;
  /** Mirror each image left-right with probability 0.5. */
  flip: boolean;
  /** Skip the last batch when it is smaller than `batchSize`. */
  dropLast?: boolean;
}

/**
 * One training epoch in a fresh random order, with random crops and flips. Everything random is
 * drawn from `rng` now, before the first batch (the order, and a seed for the augmentation
 * stream), so `rng`'s state afterwards does not depend on how many batches were consumed or
 * prepared ahead. Batches are built lazily, one per `next()`.
 */
export function trainBatches(split: Split, options: TrainBatchOptions): Generator<Batch> {
  const order = options.rng.shuffle(identityOrder(split.count));
  const viewRng = new Rng(options.rng.seed());
  const nextView = () => randomView(viewRng, options.cropPadding, options.flip);
  return batchesOf(split, order, options.batchSize, options.dropLast ?? false, nextView);
}

/** The whole split in order, unaugmented, for evaluation. */
export function evalBatches(split: Split, batchSize: number): Generator<Batch> {
  return batchesOf(split, identityOrder(split.count), batchSize, false, () => IDENTITY);
}

/** The one tensor pair a batch becomes; the caller disposes both. */
export function toTensors(batch: Batch): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return {
    x: tf.tensor4d(batch.x, [batch.size, IMAGE_SIZE, IMAGE_SIZE, CHANNELS]),
    y: tf.tensor1d(batch.y, 'int32'),
  };
}

function* batchesOf(
  split: Split,
  order: Uint32Array,
  batchSize: number,
  dropLast: boolean,
  nextView: () => View,
): Generator<Batch> {
  const end = dropLast ? order.length - (order.length % batchSize) : order.length;
  for (let start = 0; start < end; start += batchSize) {
    const size = Math.min(batchSize, end - start);
    // Fresh arrays per batch: a tfjs tensor may keep using the array it was made from.
    const x = new Float32Array(size * IMAGE_BYTES);
    const y = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const index = order[start + i];
      y[i] = split.labels[index];
      writeImage(split.images, index, nextView(), CIFAR10_NORMALIZATION, x, i);
    }
    yield { x, y, size };
  }
}

function identityOrder(count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order;
}
