import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { batchNorm } from '../../layers/batch-norm.js';
import { conv2d, globalAveragePool } from '../../layers/conv.js';
import { linear } from '../../layers/linear.js';
import { type Params, paramOf } from '../../layers/params.js';
import { residualAdd } from '../../layers/residual.js';
import type { ForwardOptions } from '../family.js';
import { type ResNetConfig, basicBlocks } from './config.js';

/**
 * The CIFAR ResNet (He et al. 2016) as kuangliu/pytorch-cifar writes it, the baseline of
 * kentaroy47/vision-transformers-cifar10 (models/resnet.py):
 *   x ← ReLU(BN(Conv3×3(images)))                      the stem: no stride, no max-pool
 *   per BasicBlock:  x ← ReLU(BN(Conv3×3(ReLU(BN(Conv3×3, stride s(x))))) + shortcut(x))
 *                    shortcut: x, or BN(Conv1×1, stride s(x)) where the shape changes
 *   logits = Linear(mean over the final 4×4 map)
 * NHWC [b, 32, 32, 3] in, logits [b, num_classes] out.
 */
export function resNetForward(params: Params, cfg: ResNetConfig, images: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D {
  const [, height, width, channels] = images.shape;
  if (height !== cfg.image_size || width !== cfg.image_size || channels !== CHANNELS) {
    throw new Error(`resNetForward: expected images [b, ${cfg.image_size}, ${cfg.image_size}, 3], got [${images.shape}]`);
  }
  const p = (name: string) => paramOf(params, name, 'resNetForward');
  const norm = (x: tf.Tensor, prefix: string, relu: boolean) => batchNorm(x, p, prefix, relu ? 'relu_after' : 'none', opts) as tf.Tensor4D;
  return tf.tidy(() => {
    let x = norm(conv2d(images, p('conv1.weight'), 1, 1, true), 'bn1', true);
    for (const { prefix, stride, projection } of basicBlocks(cfg)) {
      const w = (name: string) => p(`${prefix}.${name}`);
      // A tidy per block frees what the backward pass does not keep as soon as the block is done.
      const input = x;
      x = tf.tidy(() => {
        const inner = norm(conv2d(input, w('conv1.weight'), stride, 1), `${prefix}.bn1`, true);
        const residual = norm(conv2d(inner, w('conv2.weight'), 1, 1), `${prefix}.bn2`, false);
        const shortcut = projection ? norm(conv2d(input, w('shortcut.0.weight'), stride, 0), `${prefix}.shortcut.1`, false) : input;
        return tf.relu(residualAdd(residual, shortcut)) as tf.Tensor4D;
      });
    }
    return linear(globalAveragePool(x), p('linear.weight'), p('linear.bias')) as tf.Tensor2D;
  });
}
