import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { batchNorm } from '../../layers/batch-norm.js';
import { conv2d, depthwiseConv2d, globalAveragePool, samePadding } from '../../layers/conv.js';
import { linear } from '../../layers/linear.js';
import { type Params, paramOf } from '../../layers/params.js';
import { residualAdd } from '../../layers/residual.js';
import type { ForwardOptions } from '../family.js';
import type { ConvMixerConfig } from './config.js';

/**
 * ConvMixer (Trockman & Kolter 2022, "Patches Are All You Need?") as
 * kentaroy47/vision-transformers-cifar10 writes it (models/convmixer.py):
 *   x ← BN(GELU(Conv_p×p, stride p(images)))                       the patch embedding
 *   per block:  x ← x + BN(GELU(DepthwiseConv_k×k, 'same'(x)))      mixes space, per channel
 *               x ← BN(GELU(Conv_1×1(x)))                            mixes channels
 *   logits = Linear(mean over positions of x)
 * Every BatchNorm follows its GELU, and each pair is one fused op (src/layers/batch-norm.ts).
 * NHWC [b, s, s, 3] in, logits [b, num_classes] out.
 */
export function convMixerForward(params: Params, cfg: ConvMixerConfig, images: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D {
  const [, height, width, channels] = images.shape;
  if (height !== cfg.image_size || width !== cfg.image_size || channels !== CHANNELS) {
    throw new Error(`convMixerForward: expected images [b, ${cfg.image_size}, ${cfg.image_size}, 3], got [${images.shape}]`);
  }
  const p = (name: string) => paramOf(params, name, 'convMixerForward');
  const norm = (x: tf.Tensor, prefix: string) => batchNorm(x, p, prefix, 'gelu_before', opts) as tf.Tensor4D;
  return tf.tidy(() => {
    let x = norm(conv2d(images, p('stem.conv.weight'), cfg.patch_size, 0, true, p('stem.conv.bias')), 'stem.norm');
    const same = samePadding(cfg.kernel_size);
    for (let i = 0; i < cfg.depth; i++) {
      const block = (name: string) => p(`blocks.${i}.${name}`);
      // A tidy per block frees what the backward pass does not keep (the BatchNorms' outputs, the
      // sums) as soon as the block is done, rather than at the end of the whole forward pass.
      const input = x;
      x = tf.tidy(() => {
        const mixed = depthwiseConv2d(input, block('depthwise.weight'), block('depthwise.bias'), same);
        const y = residualAdd(input, norm(mixed, `blocks.${i}.depthwise_norm`)) as tf.Tensor4D;
        return norm(pointwise(y, block('pointwise.weight'), block('pointwise.bias')), `blocks.${i}.pointwise_norm`);
      });
    }
    return linear(globalAveragePool(x), p('head.weight'), p('head.bias')) as tf.Tensor2D;
  });
}

/** A 1×1 convolution is a Linear on every position: weight [1, 1, c_in, c_out] as [c_in, c_out]. */
function pointwise(x: tf.Tensor4D, weight: tf.Tensor, bias: tf.Tensor): tf.Tensor4D {
  const [, , cin, cout] = weight.shape;
  return linear(x, tf.reshape(weight, [cin, cout]), bias) as tf.Tensor4D;
}
