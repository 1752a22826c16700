import * as tf from '@tensorflow/tfjs';
import { IDENTITY, writeImage } from '../../data/augment.js';
import { CHANNELS, IMAGE_BYTES, IMAGE_SIZE, type Split } from '../../data/cifar10.js';
import type { Params } from '../../layers/params.js';
import { whitenRng } from '../../train/seeds.js';
import { symmetricEigen } from '../../util/eigen.js';
import type { CctConfig } from './config.js';

/**
 * Patch whitening for a first convolution (airbench, hlb-CIFAR10): the k×k×c windows of the
 * training images, flattened in our conv weight's (row, column, channel) order, have a second
 * moment Σ = E[p·pᵀ] = V·Λ·Vᵀ; the filters v_i / √(λ_i + eps) map them to unit-variance,
 * uncorrelated outputs, and their negatives keep what a ReLU would cut off.
 */

/** Accumulates E[p·pᵀ] over every k×k window lying inside each image added (no padding). */
export class PatchMoments {
  /** The patch length k·k·channels. */
  readonly dim: number;
  private readonly sum: Float64Array;
  private readonly patch: Float64Array;
  private patches = 0;

  constructor(
    private readonly side: number,
    private readonly channels: number,
    private readonly kernel: number,
  ) {
    this.dim = kernel * kernel * channels;
    this.sum = new Float64Array(this.dim * this.dim);
    this.patch = new Float64Array(this.dim);
  }

  /** One image, NHWC [side, side, channels] (normalized as the model sees it). */
  add(image: Float32Array): void {
    const { side, channels, kernel, dim, sum, patch } = this;
    const rowLength = kernel * channels;
    for (let y = 0; y + kernel <= side; y++) {
      for (let x = 0; x + kernel <= side; x++) {
        for (let i = 0; i < kernel; i++) {
          const start = ((y + i) * side + x) * channels;
          for (let j = 0; j < rowLength; j++) patch[i * rowLength + j] = image[start + j];
        }
        // The upper triangle only; `result` mirrors it.
        for (let r = 0; r < dim; r++) {
          const pr = patch[r];
          for (let c = r; c < dim; c++) sum[r * dim + c] += pr * patch[c];
        }
        this.patches++;
      }
    }
  }

  /** The second moment, row-major [dim, dim]. */
  result(): Float64Array {
    const { dim, sum } = this;
    const moments = new Float64Array(dim * dim);
    for (let r = 0; r < dim; r++) {
      for (let c = r; c < dim; c++) moments[r * dim + c] = moments[c * dim + r] = sum[r * dim + c] / this.patches;
    }
    return moments;
  }
}

/**
 * A conv weight [dim, outputs] (our [k, k, c_in, c_out] flattened) whose first 2m columns whiten:
 * columns 0…m−1 are v_i / √(λ_i + eps) for the m = min(dim, ⌊outputs / 2⌋) eigenvectors of
 * `moments` with the largest eigenvalues, columns m…2m−1 their negatives (airbench's
 * cat(+filters, −filters)); any further columns are `init`'s, the normal initialisation.
 */
export function whiteningFilters(moments: Float64Array, dim: number, eps: number, init: Float32Array, outputs: number): Float32Array {
  const { values, vectors } = symmetricEigen(moments, dim);
  const m = Math.min(dim, Math.floor(outputs / 2));
  const weight = Float32Array.from(init);
  for (let i = 0; i < m; i++) {
    const scale = 1 / Math.sqrt(Math.max(values[i], 0) + eps);
    for (let r = 0; r < dim; r++) {
      const w = vectors[r * dim + i] * scale;
      weight[r * outputs + i] = w;
      weight[r * outputs + m + i] = -w;
    }
  }
  return weight;
}

/** The CCT weight that model.whiten_init sets (and, when frozen, keeps out of training). */
export const WHITENED = 'tokenizer.conv.0.weight';

/** The parameters no optimizer step may change: the whitened conv when model.whiten_init freezes it. */
export function frozenParams(cfg: CctConfig): string[] {
  return cfg.whiten_init?.frozen ? [WHITENED] : [];
}

/**
 * model.whiten_init: sets the first tokenizer conv to whiten the k×k×3 patches of
 * `whiten_init.images` training images (normalized as the model sees them), a sample drawn from
 * the seed (whitenRng), so the same seed and split give the same weights. `train` must be the
 * training part only (never the held-out validation images).
 */
export function whitenTokenizer(params: Params, cfg: CctConfig, data: { train: Split; seed: number; normalization: Float32Array }): void {
  const whiten = cfg.whiten_init;
  if (!whiten) return;
  const { train } = data;
  const order = Uint32Array.from({ length: train.count }, (_, i) => i);
  const sample = whitenRng(data.seed).shuffle(order).subarray(0, Math.min(whiten.images, train.count));
  const moments = new PatchMoments(IMAGE_SIZE, CHANNELS, cfg.conv_kernel);
  const image = new Float32Array(IMAGE_BYTES);
  for (const index of sample) {
    writeImage(train.images, index, IDENTITY, data.normalization, image, 0);
    moments.add(image);
  }
  const weight = params[WHITENED];
  const outputs = weight.shape[weight.rank - 1];
  const values = whiteningFilters(moments.result(), moments.dim, whiten.eps, weight.dataSync() as Float32Array, outputs);
  tf.tidy(() => weight.assign(tf.tensor(values, weight.shape)));
}
