import * as tf from '@tensorflow/tfjs';
import type { CctConfig, ModelConfig } from '../config/schema.js';
import { IDENTITY, writeImage } from '../data/augment.js';
import { CHANNELS, IMAGE_BYTES, IMAGE_SIZE, type Split } from '../data/cifar10.js';
import { CIFAR10_NORMALIZATION } from '../data/normalize.js';
import type { Params } from '../model/family.js';
import { PatchMoments, whiteningFilters } from '../model/whiten.js';
import { whitenRng } from './seeds.js';

/** The CCT weight that model.whiten_init sets (and, when frozen, keeps out of training). */
export const WHITENED = 'tokenizer.conv.0.weight';

/** The parameters no optimizer step may change: the whitened conv when model.whiten_init freezes it. */
export function frozenParams(model: ModelConfig): Set<string> {
  return new Set(model.whiten_init?.frozen ? [WHITENED] : []);
}

/**
 * model.whiten_init: sets the first tokenizer conv to whiten the k×k×3 patches of
 * `whiten_init.images` training images (normalized as the model sees them), a sample drawn from
 * the seed (whitenRng), so the same seed and split give the same weights. `train` must be the
 * training part only (never the held-out validation images).
 */
export function whitenTokenizer(params: Params, cfg: CctConfig, train: Split, seed: number): void {
  const whiten = cfg.whiten_init;
  if (!whiten) return;
  const order = Uint32Array.from({ length: train.count }, (_, i) => i);
  const sample = whitenRng(seed).shuffle(order).subarray(0, Math.min(whiten.images, train.count));
  const moments = new PatchMoments(IMAGE_SIZE, CHANNELS, cfg.conv_kernel);
  const image = new Float32Array(IMAGE_BYTES);
  for (const index of sample) {
    writeImage(train.images, index, IDENTITY, CIFAR10_NORMALIZATION, image, 0);
    moments.add(image);
  }
  const weight = params[WHITENED];
  const outputs = weight.shape[weight.rank - 1];
  const values = whiteningFilters(moments.result(), moments.dim, whiten.eps, weight.dataSync() as Float32Array, outputs);
  tf.tidy(() => weight.assign(tf.tensor(values, weight.shape)));
}
