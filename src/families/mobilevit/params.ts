import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { batchNormInitialValue, batchNormShapes } from '../../layers/batch-norm.js';
import { type Params, fanIn, initVariables, pytorchDefaultInit } from '../../layers/params.js';
import type { Rng } from '../../util/rng.js';
import { type MobileVitConfig, TRANSFORMER, mobileVitBlocks, mv2Blocks } from './config.js';

/**
 * MobileViT's parameters and buffers in module order (init draws its seeds in it). Every conv has
 * no bias and a BatchNorm after it, named `<conv>_norm` (`stem.norm`, `head.norm`):
 *   stem.conv                          3×3, stride 2, 3 → channels[0]
 *   mv2.i.expand, .depthwise, .project  1×1 [1, 1, in, hidden] (absent for expansion 1),
 *                                      3×3 depthwise [3, 3, 1, hidden], 1×1 [1, 1, hidden, out]
 *   mvit.i.local, .to_tokens           3×3 channel → channel, 1×1 channel → dim
 *   mvit.i.layers.j.attn.{norm,qkv,out}, .mlp.{norm,fc1,fc2}   the transformer (LayerNorms, Linears)
 *   mvit.i.from_tokens, .fuse          1×1 dim → channel, 3×3 2·channel → channel
 *   head.conv, fc                      1×1 channels[9] → channels[10]; Linear without bias
 * Conv weights are [k, k, c_in, c_out], Linear weights [in, out].
 */
function shapes(cfg: MobileVitConfig): { params: Record<string, number[]>; buffers: Record<string, number[]> } {
  const params: Record<string, number[]> = {};
  const buffers: Record<string, number[]> = {};
  const convBn = (prefix: string, k: number, cin: number, cout: number, norm = `${prefix}_norm`) => {
    params[`${prefix}.weight`] = [k, k, cin, cout];
    const bn = batchNormShapes(norm, cout);
    Object.assign(params, bn.params);
    Object.assign(buffers, bn.buffers);
  };
  const k = cfg.kernel_size;
  const c = cfg.channels;
  convBn('stem.conv', 3, CHANNELS, c[0], 'stem.norm');
  for (const { prefix, inp, out, hidden, expand } of mv2Blocks(cfg)) {
    if (expand) convBn(`${prefix}.expand`, 1, inp, hidden);
    convBn(`${prefix}.depthwise`, 3, 1, hidden);
    convBn(`${prefix}.project`, 1, hidden, out);
  }
  const inner = TRANSFORMER.heads * TRANSFORMER.dimHead;
  for (const { prefix, channel, dim, depth, mlpDim } of mobileVitBlocks(cfg)) {
    convBn(`${prefix}.local`, k, channel, channel);
    convBn(`${prefix}.to_tokens`, 1, channel, dim);
    for (let j = 0; j < depth; j++) {
      const layer = `${prefix}.layers.${j}`;
      Object.assign(params, {
        [`${layer}.attn.norm.weight`]: [dim],
        [`${layer}.attn.norm.bias`]: [dim],
        [`${layer}.attn.qkv.weight`]: [dim, 3 * inner],
        [`${layer}.attn.out.weight`]: [inner, dim],
        [`${layer}.attn.out.bias`]: [dim],
        [`${layer}.mlp.norm.weight`]: [dim],
        [`${layer}.mlp.norm.bias`]: [dim],
        [`${layer}.mlp.fc1.weight`]: [dim, mlpDim],
        [`${layer}.mlp.fc1.bias`]: [mlpDim],
        [`${layer}.mlp.fc2.weight`]: [mlpDim, dim],
        [`${layer}.mlp.fc2.bias`]: [dim],
      });
    }
    convBn(`${prefix}.from_tokens`, 1, dim, channel);
    convBn(`${prefix}.fuse`, k, 2 * channel, channel);
  }
  convBn('head.conv', 1, c[9], c[10], 'head.norm');
  params['fc.weight'] = [c[10], cfg.num_classes];
  return { params, buffers };
}

export const paramShapes = (cfg: MobileVitConfig) => shapes(cfg).params;
export const bufferShapes = (cfg: MobileVitConfig) => shapes(cfg).buffers;

/** A BatchNorm's (`…_norm`, `stem.norm`, `head.norm`) or a LayerNorm's (`attn.norm`, `mlp.norm`) parameter. */
function isNorm(name: string): boolean {
  return /(_norm|\.norm)\.[a-z_]+$/.test(name);
}

/** Weight decay on conv and Linear weights, not on the norms' gains or any bias (timm's rule). */
export function isDecayed(name: string): boolean {
  return name.endsWith('.weight') && !isNorm(name);
}

/**
 * Muon's matrices: every conv and Linear weight between the stem and the classifier (which stay
 * with AdamW, as the first and last layers do in every family), but the depthwise filters, 3×3
 * per channel rather than matrices.
 */
export function isHiddenMatrix(name: string): boolean {
  return isDecayed(name) && !/^(stem|fc)\./.test(name) && !name.includes('.depthwise.');
}

/** Fresh weights as PyTorch initialises the modules (Conv2d, Linear, BatchNorm2d and LayerNorm defaults: mobilevit.py has no init of its own). */
export function initParams(cfg: MobileVitConfig, seed: number): Params {
  const { params, buffers } = shapes(cfg);
  return initVariables({ ...params, ...buffers }, (name, shape, rng) => initialValue(name, shape, params, rng), seed);
}

function initialValue(name: string, shape: number[], params: Record<string, number[]>, rng: Rng): tf.Tensor {
  const bn = batchNormInitialValue(name, shape);
  if (bn) return bn;
  if (isNorm(name)) return name.endsWith('.weight') ? tf.ones(shape) : tf.zeros(shape);
  const weight = name.endsWith('.bias') ? params[name.replace(/\.bias$/, '.weight')] : shape;
  return pytorchDefaultInit(shape, fanIn(weight), rng);
}

/** The closed-form parameter count (a test checks it against paramShapes and PyTorch's). */
export function countParams(cfg: MobileVitConfig): number {
  const conv = (k: number, cin: number, cout: number) => k * k * cin * cout + 2 * cout; // no bias; BatchNorm's gain and shift
  const c = cfg.channels;
  const k = cfg.kernel_size;
  const inner = TRANSFORMER.heads * TRANSFORMER.dimHead;
  let count = conv(3, CHANNELS, c[0]);
  for (const { inp, out, hidden, expand } of mv2Blocks(cfg)) count += (expand ? conv(1, inp, hidden) : 0) + conv(3, 1, hidden) + conv(1, hidden, out);
  for (const { channel, dim, depth, mlpDim } of mobileVitBlocks(cfg)) {
    const attention = 2 * dim + dim * 3 * inner + inner * dim + dim; // norm, qkv, out
    const mlp = 2 * dim + dim * mlpDim + mlpDim + mlpDim * dim + dim; // norm, fc1, fc2
    count += conv(k, channel, channel) + conv(1, channel, dim) + depth * (attention + mlp) + conv(1, dim, channel) + conv(k, 2 * channel, channel);
  }
  return count + conv(1, c[9], c[10]) + c[10] * cfg.num_classes;
}
