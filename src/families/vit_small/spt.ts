import * as tf from '@tensorflow/tfjs';
import { rearrange } from '../../einops/index.js';
import { layerNorm } from '../../layers/layer-norm.js';
import { linear } from '../../layers/linear.js';
import { type Params, paramOf } from '../../layers/params.js';

/**
 * Shifted Patch Tokenization (Lee et al. 2021, §3.1) as the reference codes it: the paper shifts
 * by half a patch diagonally, models/vit_small.py (after vit-pytorch) by one pixel along each axis,
 * F.pad(x, (left, right, top, bottom)) with one side 1 and the other −1, zero-filled, in this
 * order: right (1, −1, 0, 0), left (−1, 1, 0, 0), down (0, 0, 1, −1), up (0, 0, −1, 1). The image
 * and its four shifts are stacked on the channels in that order: [b, s, s, 15] NHWC.
 *
 * All four are windows of one zero-padded copy: with P = pad(x, 1 on every side),
 * P[i + 1 + dy, j + 1 + dx] = x[i + dy, j + dx] (zero outside x), so the view that reads
 * x[i + dy, j + dx] is the s × s window of P at (1 + dy, 1 + dx). Pad and slice are exact, and their gradients
 * (slice and pad) are too: a pixel's gradient sums what each view it appears in receives.
 */
export function shiftedViews(images: tf.Tensor4D): tf.Tensor4D {
  const [b, height, width, channels] = images.shape;
  const padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const window = (top: number, left: number) => tf.slice(padded, [0, top, left, 0], [b, height, width, channels]);
  const right = window(1, 0); // x[i, j − 1]
  const left = window(1, 2); // x[i, j + 1]
  const down = window(0, 1); // x[i − 1, j]
  const up = window(2, 1); // x[i + 1, j]
  return tf.concat([images, right, left, down, up], 3);
}

/**
 * SPT's tokens: the 15-channel stack cut into patch_size × patch_size patches (left to right, top
 * to bottom), each flattened in PyTorch's `(p1 p2 c)` order, LayerNorm'd, then projected to `dim`:
 * [b, num_patches, dim].
 */
export function shiftedPatchTokens(params: Params, patchSize: number, images: tf.Tensor4D): tf.Tensor {
  const p = (name: string) => paramOf(params, name, 'vitSmallForward');
  const patches = rearrange(shiftedViews(images), 'b (h p1) (w p2) c -> b (h w) (p1 p2 c)', { p1: patchSize, p2: patchSize });
  const normed = layerNorm(patches, p('patch_embed.norm.weight'), p('patch_embed.norm.bias'));
  return linear(normed, p('patch_embed.linear.weight'), p('patch_embed.linear.bias'));
}
