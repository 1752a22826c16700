import { symmetricEigen } from '../util/eigen.js';

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
