import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { batchNormInitialValue, batchNormShapes } from '../../layers/batch-norm.js';
import { type Params, fanIn, initVariables, pytorchDefaultInit } from '../../layers/params.js';
import type { Rng } from '../../util/rng.js';
import { type ResNetConfig, STAGES, STEM_PLANES, basicBlocks } from './config.js';

/**
 * The ResNet's parameters and buffers under PyTorch's own names (conv1, bn1, layerN.B.conv1, …,
 * `shortcut.0` the projection conv and `shortcut.1` its BatchNorm, `linear`), in module order.
 * Conv weights are [3, 3, c_in, c_out] (no bias: each feeds a BatchNorm), Linear [512, classes].
 */
function shapes(cfg: ResNetConfig): { params: Record<string, number[]>; buffers: Record<string, number[]> } {
  const params: Record<string, number[]> = {};
  const buffers: Record<string, number[]> = {};
  const norm = (prefix: string, channels: number) => {
    const bn = batchNormShapes(prefix, channels);
    Object.assign(params, bn.params);
    Object.assign(buffers, bn.buffers);
  };
  params['conv1.weight'] = [3, 3, CHANNELS, STEM_PLANES];
  norm('bn1', STEM_PLANES);
  for (const { prefix, inPlanes, planes, projection } of basicBlocks(cfg)) {
    params[`${prefix}.conv1.weight`] = [3, 3, inPlanes, planes];
    norm(`${prefix}.bn1`, planes);
    params[`${prefix}.conv2.weight`] = [3, 3, planes, planes];
    norm(`${prefix}.bn2`, planes);
    if (projection) {
      params[`${prefix}.shortcut.0.weight`] = [1, 1, inPlanes, planes];
      norm(`${prefix}.shortcut.1`, planes);
    }
  }
  const features = STAGES[STAGES.length - 1].planes;
  Object.assign(params, { 'linear.weight': [features, cfg.num_classes], 'linear.bias': [cfg.num_classes] });
  return { params, buffers };
}

export const paramShapes = (cfg: ResNetConfig) => shapes(cfg).params;
export const bufferShapes = (cfg: ResNetConfig) => shapes(cfg).buffers;

/** A BatchNorm's parameters: `bnN.…` or a projection's `shortcut.1.…`. */
function isNorm(name: string): boolean {
  return /(^|\.)bn\d\./.test(name) || /\.shortcut\.1\./.test(name);
}

/** Weight decay on conv and Linear weights, not on BatchNorm's gains or the bias. */
export function isDecayed(name: string): boolean {
  return name.endsWith('.weight') && !isNorm(name);
}

/** Muon's matrices: every conv after the stem (the first layer and the head stay with AdamW). */
export function isHiddenMatrix(name: string): boolean {
  return /^layer\d\.\d+\.(conv\d|shortcut\.0)\.weight$/.test(name);
}

/** Fresh weights as PyTorch initialises kuangliu's ResNet (its modules' defaults: nothing of its own). */
export function initParams(cfg: ResNetConfig, seed: number): Params {
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
export function countParams(cfg: ResNetConfig): number {
  const norm = (c: number) => 2 * c;
  let count = 9 * CHANNELS * STEM_PLANES + norm(STEM_PLANES);
  for (const { inPlanes, planes, projection } of basicBlocks(cfg)) {
    count += 9 * inPlanes * planes + norm(planes) + 9 * planes * planes + norm(planes);
    if (projection) count += inPlanes * planes + norm(planes);
  }
  const features = STAGES[STAGES.length - 1].planes;
  return count + features * cfg.num_classes + cfg.num_classes;
}
