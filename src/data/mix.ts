import type { Rng } from '../util/rng.js';
import { CHANNELS, IMAGE_BYTES, IMAGE_SIZE, NUM_CLASSES } from './cifar10.js';
import { beta } from './sampling.js';

/**
 * Mixup (Zhang et al. 2018) and CutMix (Yun et al. 2019) as timm's `Mixup` applies them in its
 * default 'batch' mode, on the normalized batch: one λ per batch, image i mixed with image
 * size − 1 − i (the batch reversed), and soft targets mixed with the same λ. With an odd batch
 * size the middle image meets itself and stays as it is.
 */
export interface MixOptions {
  /** α of mixup's λ ~ Beta(α, α); 0: no mixup. */
  mixupAlpha: number;
  /** α of cutmix's λ ~ Beta(α, α); 0: no cutmix. */
  cutmixAlpha: number;
  /** Probability that a batch is mixed at all. */
  mixProb: number;
  /** With both on: probability that a mixed batch uses cutmix rather than mixup. */
  switchProb: number;
  /** Label smoothing of the one-hot targets before they are mixed (timm's `mixup_target`). */
  labelSmoothing: number;
  /** Number of classes, the targets' width (default CIFAR-10's 10). */
  classes?: number;
}

/** Rows [top, bottom) and columns [left, right) of a 32x32 image (timm's yl, yh, xl, xh). */
export interface CutBox {
  top: number;
  bottom: number;
  left: number;
  right: number;
}

/** How one batch is mixed; λ is the weight of each image's own content and label. */
export type Mix = { kind: 'none'; lambda: 1 } | { kind: 'mixup'; lambda: number } | { kind: 'cutmix'; lambda: number; box: CutBox };

/** Mixes the images of `x` in place and returns the soft targets, [labels.length, classes]. */
export function mixBatch(x: Float32Array, labels: Int32Array, options: MixOptions, rng: Rng): Float32Array {
  const mix = drawMix(options, rng);
  mixImages(x, labels.length, mix);
  return mixedTargets(labels, mix.lambda, options.labelSmoothing, options.classes);
}

/** timm's `_params_per_batch`, then for cutmix `cutmix_bbox_and_lam` with λ corrected to the box's area. */
export function drawMix(options: MixOptions, rng: Rng): Mix {
  if (rng.next() >= options.mixProb) return { kind: 'none', lambda: 1 };
  const { mixupAlpha, cutmixAlpha } = options;
  const cutmix = mixupAlpha > 0 && cutmixAlpha > 0 ? rng.next() < options.switchProb : cutmixAlpha > 0;
  const alpha = cutmix ? cutmixAlpha : mixupAlpha;
  const lambda = beta(rng, alpha, alpha);
  if (!cutmix) return { kind: 'mixup', lambda };
  const box = cutBox(lambda, rng);
  const area = (box.bottom - box.top) * (box.right - box.left);
  return { kind: 'cutmix', lambda: 1 - area / (IMAGE_SIZE * IMAGE_SIZE), box };
}

/**
 * timm's `rand_bbox`: a box of about (1 − λ) of the image, sides √(1 − λ) of the image's, centred
 * on a uniformly random pixel and clipped to the image (so it can come out smaller).
 */
function cutBox(lambda: number, rng: Rng): CutBox {
  const half = Math.trunc(IMAGE_SIZE * Math.sqrt(1 - lambda)) >> 1;
  const cy = rng.int(IMAGE_SIZE), cx = rng.int(IMAGE_SIZE);
  const clip = (v: number) => Math.min(Math.max(v, 0), IMAGE_SIZE);
  return { top: clip(cy - half), bottom: clip(cy + half), left: clip(cx - half), right: clip(cx + half) };
}

/** Mixup blends each pair; cutmix swaps the box between the two images of each pair. */
export function mixImages(x: Float32Array, size: number, mix: Mix): void {
  for (let i = 0, j = size - 1; i < j; i++, j--) {
    const a = i * IMAGE_BYTES, b = j * IMAGE_BYTES;
    if (mix.kind === 'mixup') {
      const { lambda } = mix;
      for (let k = 0; k < IMAGE_BYTES; k++) {
        const p = x[a + k], q = x[b + k];
        x[a + k] = lambda * p + (1 - lambda) * q;
        x[b + k] = lambda * q + (1 - lambda) * p;
      }
    } else if (mix.kind === 'cutmix') {
      const { top, bottom, left, right } = mix.box;
      for (let y = top; y < bottom; y++) {
        for (let k = (y * IMAGE_SIZE + left) * CHANNELS; k < (y * IMAGE_SIZE + right) * CHANNELS; k++) {
          const p = x[a + k];
          x[a + k] = x[b + k];
          x[b + k] = p;
        }
      }
    }
  }
}

/**
 * timm's `mixup_target`: λ · smooth(one_hot(label)) + (1 − λ) · smooth(one_hot(reversed label)),
 * where smooth puts ε/classes on every class and the rest on the label. Rows sum to 1.
 */
export function mixedTargets(labels: Int32Array, lambda: number, smoothing: number, classes = NUM_CLASSES): Float32Array {
  const size = labels.length;
  const off = smoothing / classes;
  const onAbove = 1 - smoothing; // on − off
  const targets = new Float32Array(size * classes).fill(off);
  for (let i = 0; i < size; i++) {
    targets[i * classes + labels[i]] += lambda * onAbove;
    targets[i * classes + labels[size - 1 - i]] += (1 - lambda) * onAbove;
  }
  return targets;
}
