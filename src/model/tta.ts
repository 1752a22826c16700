import * as tf from '@tensorflow/tfjs';
import type { Tta } from '../config/schema.js';

/**
 * One test-time view of a batch: shifted so that output pixel (y, x) shows input pixel
 * (y + dy, x + dx), the input reflected at its border (PyTorch's reflect padding) where that falls
 * outside it, then mirrored left-right when `flip`; its logits count with `weight`.
 */
export interface TtaView {
  dy: number;
  dx: number;
  flip: boolean;
  weight: number;
}

const view = (dy: number, dx: number, flip: boolean, weight: number): TtaView => ({ dy, dx, flip, weight });

/**
 * The views of each `train.eval_tta` mode. 'flip_translate' is airbench's tta_level=2: half the
 * weight on the image and its mirror, half on the image shifted one pixel up-left and one pixel
 * down-right, each with its mirror (airbench's `infer_mirror_translate`: ½·mirror(x) +
 * ½·mean(mirror(pad(x)[0:32, 0:32]), mirror(pad(x)[2:34, 2:34])), pad reflecting one pixel).
 */
export const TTA_VIEWS: Record<Tta, readonly TtaView[]> = {
  none: [view(0, 0, false, 1)],
  flip: [view(0, 0, false, 0.5), view(0, 0, true, 0.5)],
  flip_translate: [
    view(0, 0, false, 0.25),
    view(0, 0, true, 0.25),
    view(-1, -1, false, 0.125),
    view(-1, -1, true, 0.125),
    view(1, 1, false, 0.125),
    view(1, 1, true, 0.125),
  ],
};

/**
 * Σ weight · logits(view) over the views of `tta` for NHWC `images`. 'none' is `logits(images)`
 * itself. Each forward pass is its own tidy, so at most one view's activations are alive at once.
 */
export function averageOverViews(images: tf.Tensor4D, tta: Tta, logits: (x: tf.Tensor4D) => tf.Tensor2D): tf.Tensor2D {
  const views = TTA_VIEWS[tta];
  if (views.length === 1) return logits(images);
  const reach = Math.max(...views.map((v) => Math.max(Math.abs(v.dy), Math.abs(v.dx))));
  const [b, height, width, channels] = images.shape;
  const padded = reach > 0 ? tf.mirrorPad(images, [[0, 0], [reach, reach], [reach, reach], [0, 0]], 'reflect') : images;
  let sum: tf.Tensor2D | null = null;
  for (const v of views) {
    const next: tf.Tensor2D = tf.tidy(() => {
      const shifted = reach > 0 ? tf.slice(padded, [0, reach + v.dy, reach + v.dx, 0], [b, height, width, channels]) : images;
      const weighted = tf.mul(logits(v.flip ? tf.reverse(shifted, 2) : (shifted as tf.Tensor4D)), v.weight) as tf.Tensor2D;
      return sum === null ? weighted : tf.add(sum, weighted);
    });
    sum?.dispose();
    sum = next;
  }
  if (padded !== images) padded.dispose();
  return sum!;
}
