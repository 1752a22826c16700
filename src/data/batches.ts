import * as tf from '@tensorflow/tfjs';
import type { DataConfig } from '../config/schema.js';
import { Rng } from '../util/rng.js';
import { IDENTITY, alternatingFlips, trainingTransform, writeImage, type ImageAugmentations } from './augment.js';
import { CHANNELS, IMAGE_BYTES, IMAGE_SIZE, type Split } from './cifar10.js';
import { numClassesOf } from './datasets.js';
import { mixBatch, type MixOptions } from './mix.js';
import { CIFAR10_NORMALIZATION, normalizationOf } from './normalize.js';

/** `size` normalized NHWC images (`x`, size·32·32·3 floats) and their labels. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  /**
   * With mixup/cutmix on: the soft targets, [size, classes] probabilities with label smoothing already
   * applied; `y` keeps each image's own label.
   */
  targets?: Float32Array;
  size: number;
}

export interface TrainBatchOptions extends ImageAugmentations {
  batchSize: number;
  /** The epoch's randomness: its shuffle and every augmentation come from here. */
  rng: Rng;
  /** Mixup / cutmix over each batch (absent: off). */
  mix?: MixOptions;
  /** Skip the last batch when it is smaller than `batchSize`. */
  dropLast?: boolean;
  /** The per-channel normalisation (normalize.ts; default: CIFAR-10's statistics). */
  normalization?: Float32Array;
}

/**
 * The training augmentations a config asks for; `labelSmoothing` goes into mixed targets. With
 * `data.flip_mode: 'alternate'`, `epoch` says which epoch of which split the flips are for, and
 * `flipRng` is the run's flip stream (seeds.ts: a fresh one, the same for every epoch).
 */
export function trainAugmentations(
  data: DataConfig,
  labelSmoothing: number,
  epoch?: { epoch: number; count: number; flipRng: Rng },
): Omit<TrainBatchOptions, 'batchSize' | 'rng' | 'dropLast'> {
  const mixing = data.mixup_alpha > 0 || data.cutmix_alpha > 0;
  const alternate = data.flip && data.flip_mode === 'alternate';
  if (alternate && !epoch) throw new Error("trainAugmentations: data.flip_mode 'alternate' needs the epoch");
  return {
    normalization: normalizationOf(data),
    cropPadding: data.crop_padding,
    cropEdge: data.crop_mode,
    flip: alternate ? alternatingFlips(epoch!.flipRng, epoch!.count, epoch!.epoch) : data.flip,
    randAugment: data.randaugment ?? undefined,
    erasing: data.random_erasing > 0 ? { probability: data.random_erasing, mode: data.random_erasing_mode } : undefined,
    mix: mixing
      ? { mixupAlpha: data.mixup_alpha, cutmixAlpha: data.cutmix_alpha, mixProb: data.mix_prob, switchProb: data.switch_prob, labelSmoothing, classes: numClassesOf(data) }
      : undefined,
  };
}

/**
 * One training epoch in a fresh random order, augmented. Everything random is drawn from `rng`
 * now, before the first batch (the order, and a seed for the augmentation stream, which every
 * image and then every batch draws from in turn), so `rng`'s state afterwards does not depend on
 * how many batches were consumed or prepared ahead. Batches are built lazily, one per `next()`.
 */
export function trainBatches(split: Split, options: TrainBatchOptions): Generator<Batch> {
  const order = options.rng.shuffle(identityOrder(split.count));
  const augmentRng = new Rng(options.rng.seed());
  const transform = trainingTransform(split.images, options.normalization ?? CIFAR10_NORMALIZATION, options, augmentRng);
  const batches = batchesOf(split, order, options.batchSize, options.dropLast ?? false, transform);
  return options.mix ? mixed(batches, options.mix, augmentRng) : batches;
}

/** The whole split in order, unaugmented, for evaluation, normalised with `normalization` (normalize.ts). */
export function evalBatches(split: Split, batchSize: number, normalization = CIFAR10_NORMALIZATION): Generator<Batch> {
  const transform = (index: number, out: Float32Array, slot: number) => writeImage(split.images, index, IDENTITY, normalization, out, slot);
  return batchesOf(split, identityOrder(split.count), batchSize, false, transform);
}

/** The tensors a batch becomes (`targets` only when it has soft targets); the caller disposes them. */
export function toTensors(batch: Batch): { x: tf.Tensor4D; y: tf.Tensor1D; targets?: tf.Tensor2D } {
  const x = tf.tensor4d(batch.x, [batch.size, IMAGE_SIZE, IMAGE_SIZE, CHANNELS]);
  const y = tf.tensor1d(batch.y, 'int32');
  return batch.targets ? { x, y, targets: tf.tensor2d(batch.targets, [batch.size, batch.targets.length / batch.size]) } : { x, y };
}

function* batchesOf(
  split: Split,
  order: Uint32Array,
  batchSize: number,
  dropLast: boolean,
  transform: (index: number, out: Float32Array, slot: number) => void,
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
      transform(index, x, i);
    }
    yield { x, y, size };
  }
}

/** Each batch mixed (in place) as it is built, with its soft targets. */
function* mixed(batches: Generator<Batch>, options: MixOptions, rng: Rng): Generator<Batch> {
  for (const batch of batches) yield { ...batch, targets: mixBatch(batch.x, batch.y, options, rng) };
}

function identityOrder(count: number): Uint32Array {
  const order = new Uint32Array(count);
  for (let i = 0; i < count; i++) order[i] = i;
  return order;
}
