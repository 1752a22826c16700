import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { batchNormInitialValue, batchNormShapes } from '../../layers/batch-norm.js';
import { type Params, fanIn, initVariables, pytorchDefaultInit } from '../../layers/params.js';
import type { Rng } from '../../util/rng.js';
import type { ConvMixerConfig } from './config.js';

/**
 * ConvMixer's parameters and buffers, in a fixed order (init draws its seeds in it), each conv
 * followed by its BatchNorm (`…norm`): the patch embedding `stem`, per block the depthwise conv
 * and its norm, the pointwise conv and its norm, then the classifier `head`. Conv weights are
 * [k, k, c_in, c_out] (the depthwise [k, k, 1, dim]), Linear weights [in, out].
 */
function shapes(cfg: ConvMixerConfig): { params: Record<string, number[]>; buffers: Record<string, number[]> } {
  const { dim, depth, kernel_size: k, patch_size: p, num_classes } = cfg;
  const params: Record<string, number[]> = {};
  const buffers: Record<string, number[]> = {};
  const conv = (prefix: string, shape: number[]) => Object.assign(params, { [`${prefix}.weight`]: shape, [`${prefix}.bias`]: [shape[3]] });
  const norm = (prefix: string) => {
    const bn = batchNormShapes(prefix, dim);
    Object.assign(params, bn.params);
    Object.assign(buffers, bn.buffers);
  };
  conv('stem.conv', [p, p, CHANNELS, dim]);
  norm('stem.norm');
  for (let i = 0; i < depth; i++) {
    conv(`blocks.${i}.depthwise`, [k, k, 1, dim]);
    norm(`blocks.${i}.depthwise_norm`);
    conv(`blocks.${i}.pointwise`, [1, 1, dim, dim]);
    norm(`blocks.${i}.pointwise_norm`);
  }
  Object.assign(params, { 'head.weight': [dim, num_classes], 'head.bias': [num_classes] });
  return { params, buffers };
}

export const paramShapes = (cfg: ConvMixerConfig) => shapes(cfg).params;
export const bufferShapes = (cfg: ConvMixerConfig) => shapes(cfg).buffers;

/** Weight decay on conv and Linear weights, not on BatchNorm's gains or any bias (timm's rule). */
export function isDecayed(name: string): boolean {
  return name.endsWith('.weight') && !name.includes('norm');
}

/**
 * Muon's matrices: the pointwise convs (each a dim × dim matrix). The depthwise filters are k×k
 * per channel, not matrices; the patch embedding (the first layer) and the head stay with AdamW.
 */
export function isHiddenMatrix(name: string): boolean {
  return /^blocks\.\d+\.pointwise\.weight$/.test(name);
}

/** Fresh weights as PyTorch initialises its modules (nn.Conv2d, nn.Linear, nn.BatchNorm2d defaults). */
export function initParams(cfg: ConvMixerConfig, seed: number): Params {
  const { params, buffers } = shapes(cfg);
  return initVariables({ ...params, ...buffers }, (name, shape, rng) => initialValue(name, shape, params, rng), seed);
}

function initialValue(name: string, shape: number[], params: Record<string, number[]>, rng: Rng): tf.Tensor {
  const bn = batchNormInitialValue(name, shape);
  if (bn) return bn;
  if (name.includes('norm')) return name.endsWith('.weight') ? tf.ones(shape) : tf.zeros(shape);
  const weight = name.endsWith('.bias') ? params[name.replace(/\.bias$/, '.weight')] : shape;
  return pytorchDefaultInit(shape, fanIn(weight), rng);
}

/** The closed-form parameter count (a test checks it against paramShapes and PyTorch's). */
export function countParams(cfg: ConvMixerConfig): number {
  const { dim, depth, kernel_size: k, patch_size: p, num_classes } = cfg;
  const norm = 2 * dim;
  const stem = p * p * CHANNELS * dim + dim + norm;
  const block = k * k * dim + dim + norm + dim * dim + dim + norm;
  return stem + depth * block + dim * num_classes + num_classes;
}
