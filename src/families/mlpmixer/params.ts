import * as tf from '@tensorflow/tfjs';
import { type Params, fanIn, initVariables, pytorchDefaultInit } from '../../layers/params.js';
import type { Rng } from '../../util/rng.js';
import { type MlpMixerConfig, hiddenWidths, numPatches, patchDim } from './config.js';

/**
 * MLP-Mixer's parameters, in module order (init draws its seeds in it): the patch embedding, per
 * block the token-mixing LayerNorm and MLP, then the channel-mixing LayerNorm and MLP, the final
 * LayerNorm and the head. Linear weights are [in, out]; the token-mixing layers are PyTorch
 * Conv1d's with kernel 1 over the patch axis, kept as conv kernels in our layout [1, in, out]
 * (PyTorch's [out, in, 1]; pytorch.ts says so), so a .pth maps onto them tensor for tensor.
 */
export function paramShapes(cfg: MlpMixerConfig): Record<string, number[]> {
  const { dim, depth, num_classes } = cfg;
  const n = numPatches(cfg);
  const hidden = hiddenWidths(cfg);
  const shapes: Record<string, number[]> = { 'patch_embed.weight': [patchDim(cfg), dim], 'patch_embed.bias': [dim] };
  for (let i = 0; i < depth; i++) {
    const block = `blocks.${i}`;
    Object.assign(shapes, {
      [`${block}.token_mix.norm.weight`]: [dim],
      [`${block}.token_mix.norm.bias`]: [dim],
      [`${block}.token_mix.fc1.weight`]: [1, n, hidden.token],
      [`${block}.token_mix.fc1.bias`]: [hidden.token],
      [`${block}.token_mix.fc2.weight`]: [1, hidden.token, n],
      [`${block}.token_mix.fc2.bias`]: [n],
      [`${block}.channel_mix.norm.weight`]: [dim],
      [`${block}.channel_mix.norm.bias`]: [dim],
      [`${block}.channel_mix.fc1.weight`]: [dim, hidden.channel],
      [`${block}.channel_mix.fc1.bias`]: [hidden.channel],
      [`${block}.channel_mix.fc2.weight`]: [hidden.channel, dim],
      [`${block}.channel_mix.fc2.bias`]: [dim],
    });
  }
  Object.assign(shapes, {
    'head.norm.weight': [dim],
    'head.norm.bias': [dim],
    'head.linear.weight': [dim, num_classes],
    'head.linear.bias': [num_classes],
  });
  return shapes;
}

/** Weight decay on the Linear and Conv1d weights, not on LayerNorm's gains or any bias (timm's rule). */
export function isDecayed(name: string): boolean {
  return name.endsWith('.weight') && !name.endsWith('norm.weight');
}

/**
 * Muon's matrices: both mixing MLPs' weights (each token-mixing kernel [1, in, out] is one matrix).
 * The patch embedding (the first layer) and the head stay with AdamW, as for the convnets.
 */
export function isHiddenMatrix(name: string): boolean {
  return /^blocks\.\d+\.(token|channel)_mix\.fc[12]\.weight$/.test(name);
}

/**
 * Fresh weights as PyTorch initialises that code's modules (it adds no init of its own): Linear
 * and Conv1d weights and biases U(±1/√fan_in) (a Conv1d's fan-in is in · kernel = in), LayerNorm
 * gain one and shift zero.
 */
export function initParams(cfg: MlpMixerConfig, seed: number): Params {
  const shapes = paramShapes(cfg);
  return initVariables(shapes, (name, shape, rng) => initialValue(name, shape, shapes, rng), seed);
}

function initialValue(name: string, shape: number[], shapes: Record<string, number[]>, rng: Rng): tf.Tensor {
  if (name.includes('norm.')) return name.endsWith('.weight') ? tf.ones(shape) : tf.zeros(shape);
  const weight = name.endsWith('.bias') ? shapes[name.replace(/\.bias$/, '.weight')] : shape;
  return pytorchDefaultInit(shape, fanIn(weight), rng);
}
