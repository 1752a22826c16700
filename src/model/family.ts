import * as tf from '@tensorflow/tfjs';
import type { SafeTensor } from '../checkpoint/safetensors.js';
import type { CctConfig, ModelConfig, Tta } from '../config/schema.js';
import { UserError } from '../errors.js';
import { cctForward } from './cct.js';
import { cctForwardFlops, cctIsDecayed, cctParamShapes, countCctParams, initCctParams } from './cct-params.js';
import { cctToPytorch } from './cct-pytorch.js';
import { cctOnnx } from '../onnx/cct.js';
import type { GraphBuilder } from '../onnx/graph.js';
import { vitOnnx } from '../onnx/vit.js';
import { type Params, initParams as initVitParams, isDecayed as vitIsDecayed, paramShapes as vitParamShapes } from './params.js';
import { toPytorchStateDict } from './pytorch.js';
import { averageOverViews } from './tta.js';
import { countParams as countVitParams, forwardFlops as vitForwardFlops } from './size.js';
import { vitForward } from './vit.js';

export type { Params } from './params.js';

/**
 * One entry point per model operation, dispatching on `model.name` ('vit', the default, or
 * 'cct'), so that training, evaluation, benchmarks and export never name a family.
 */
export function isCct(cfg: ModelConfig): cfg is CctConfig {
  return cfg.name === 'cct';
}

export function modelName(cfg: ModelConfig): string {
  return isCct(cfg) ? 'CCT' : 'ViT';
}

export function modelForward(params: Params, cfg: ModelConfig, images: tf.Tensor4D, opts: { training: boolean; seed?: number }): tf.Tensor2D {
  return isCct(cfg) ? cctForward(params, cfg, images, opts) : vitForward(params, cfg, images, opts);
}

/**
 * Logits in evaluation mode, averaged over the test-time views of `tta` (tta.ts): with 'flip', the
 * mean of the logits of the images and their mirror images.
 */
export function evalLogits(params: Params, cfg: ModelConfig, images: tf.Tensor4D, tta: Tta): tf.Tensor2D {
  return averageOverViews(images, tta, (x) => modelForward(params, cfg, x, { training: false }));
}

export function paramShapes(cfg: ModelConfig): Record<string, number[]> {
  return isCct(cfg) ? cctParamShapes(cfg) : vitParamShapes(cfg);
}

export function initParams(cfg: ModelConfig, seed: number): Params {
  return isCct(cfg) ? initCctParams(cfg, seed) : initVitParams(cfg, seed);
}

/** Which parameters weight decay applies to, for this family's names. */
export function decayRule(cfg: ModelConfig): (name: string) => boolean {
  return isCct(cfg) ? cctIsDecayed : vitIsDecayed;
}

/**
 * Which parameters Muon trains (optimizer.name 'muon'): the hidden layers' weight matrices (the
 * attention's and MLP's, the conv tokenizer's or the patch embedding's), in either family. The
 * classifier head, the pooling projection, positions, cls token, norms and biases are AdamW's, as
 * Muon's authors advise for a network's output layer, embeddings and gains.
 */
export function isHiddenMatrix(name: string): boolean {
  return /^(blocks\.\d+\.(attn\.(qkv|out)|mlp\.fc[12])|tokenizer\.conv\.\d+|patch_embed)\.weight$/.test(name);
}

export function countParams(cfg: ModelConfig): number {
  return isCct(cfg) ? countCctParams(cfg) : countVitParams(cfg);
}

export function forwardFlops(cfg: ModelConfig): number {
  return isCct(cfg) ? cctForwardFlops(cfg) : vitForwardFlops(cfg);
}

/**
 * Throws a UserError naming `source` unless `weights` (read from a file) are exactly this
 * config's parameters: the same names, float32, the same shapes.
 */
export function checkWeights(weights: Record<string, SafeTensor>, cfg: ModelConfig, source: string): void {
  const expected = paramShapes(cfg);
  const missing = Object.keys(expected).filter((name) => !(name in weights));
  const unexpected = Object.keys(weights).filter((name) => !(name in expected));
  if (missing.length > 0) throw new UserError(`${source}: missing weights ${missing.join(', ')}`);
  if (unexpected.length > 0) throw new UserError(`${source}: unexpected weights ${unexpected.join(', ')}`);
  for (const [name, shape] of Object.entries(expected)) {
    const { dtype, shape: actual } = weights[name];
    if (dtype !== 'F32') throw new UserError(`${source}: ${name} is ${dtype}, expected F32`);
    if (actual.join() !== shape.join()) throw new UserError(`${source}: ${name} has shape [${actual}], the model config needs [${shape}]`);
  }
}

/** Our weights as the PyTorch module's state_dict, plus the safetensors metadata that describes it. */
export function toPytorch(weights: Record<string, SafeTensor>, cfg: ModelConfig): { stateDict: Record<string, SafeTensor>; metadata: Record<string, string> } {
  if (isCct(cfg)) return cctToPytorch(weights, cfg);
  // format=pt is what safetensors.torch writes; the model config says how to build the ViT.
  return { stateDict: toPytorchStateDict(weights, cfg), metadata: { format: 'pt', model_config: JSON.stringify(cfg) } };
}

/** The model in evaluation mode as nodes of an ONNX graph: normalised NCHW images [b, 3, s, s] → logits [b, classes]. */
export function onnxLogits(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: ModelConfig): string {
  return isCct(cfg) ? cctOnnx(g, images, weights, cfg) : vitOnnx(g, images, weights, cfg);
}
