import * as tf from '@tensorflow/tfjs';
import type { Tta } from '../config/schema.js';
import type { Split } from '../data/cifar10.js';
import type { ForwardOptions, TokenMaps } from '../families/family.js';
import { type ModelConfig, familyOf } from '../families/index.js';
import type { Params } from '../layers/params.js';
import { averageOverViews } from './tta.js';

export type { Params } from '../layers/params.js';
export type { ModelConfig } from '../families/index.js';

/**
 * The model, whatever its family: training, evaluation, benchmarks and export call these, and
 * each hands the work to the family `model.name` names (src/families/), so none of them ever
 * names a family.
 */

/** "ViT", "CCT", "ConvMixer-256/16", … */
export function modelName(cfg: ModelConfig): string {
  return familyOf(cfg).title(cfg);
}

/**
 * NHWC images → logits; a training pass draws its dropout from `opts.seed` and reports its buffers'
 * new values. Images of another side than model.image_size are resized to it first (data.resize).
 */
export function modelForward(params: Params, cfg: ModelConfig, images: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D {
  const forward = (x: tf.Tensor4D) => familyOf(cfg).forward(params, cfg, x, opts);
  if (images.shape[1] === cfg.image_size && images.shape[2] === cfg.image_size) return forward(images);
  // The tidy frees the resized copy after the pass (a gradient tape keeps what its backward pass needs).
  return tf.tidy(() => forward(atModelSize(cfg, images)));
}

/**
 * `data.resize`: the (normalised) images resized to the model's input side, model.image_size (the
 * config makes the two equal), bilinearly as torch.nn.functional.interpolate(mode="bilinear",
 * align_corners=False) does: tfjs's half-pixel centres, the ONNX graph's Resize (src/onnx/model.ts)
 * with coordinate_transformation_mode half_pixel. Bilinear weights sum to 1, so the resize commutes
 * with the per-channel affine normalisation, and resizing here, once, after the augmentations
 * (which stay at 32×32) and right before the family's forward, is resizing the pixels first.
 * The images are data: no gradient flows into the resize.
 */
export function atModelSize(cfg: ModelConfig, images: tf.Tensor4D): tf.Tensor4D {
  const side = cfg.image_size;
  if (images.shape[1] === side && images.shape[2] === side) return images;
  return tf.image.resizeBilinear(images, [side, side], false, true);
}

/**
 * Logits in evaluation mode, averaged over the test-time views of `tta` (tta.ts): with 'flip', the
 * mean of the logits of the images and their mirror images.
 */
export function evalLogits(params: Params, cfg: ModelConfig, images: tf.Tensor4D, tta: Tta): tf.Tensor2D {
  return averageOverViews(images, tta, (x) => modelForward(params, cfg, x, { training: false }));
}

/** The trained parameters' names and shapes. */
export function paramShapes(cfg: ModelConfig): Record<string, number[]> {
  return familyOf(cfg).paramShapes(cfg);
}

/** The buffers' names and shapes (BatchNorm's running statistics): saved with the weights, never trained. */
export function bufferShapes(cfg: ModelConfig): Record<string, number[]> {
  return familyOf(cfg).bufferShapes?.(cfg) ?? {};
}

/** Everything a checkpoint's weights file holds for this model: parameters and buffers, like a state_dict. */
export function stateShapes(cfg: ModelConfig): Record<string, number[]> {
  return { ...paramShapes(cfg), ...bufferShapes(cfg) };
}

/** Fresh parameters and buffers from `seed`. */
export function initParams(cfg: ModelConfig, seed: number): Params {
  return familyOf(cfg).init(cfg, seed);
}

/** Data-dependent initialisation before a fresh run trains (the CCT's patch whitening), where the family has one. */
export function initFromData(params: Params, cfg: ModelConfig, data: { train: Split; seed: number; normalization: Float32Array }): void {
  familyOf(cfg).initFromData?.(params, cfg, data);
}

/** The parameters an optimizer trains: every parameter but the buffers and those the config freezes. */
export function trainedParams(params: Params, cfg: ModelConfig): Params {
  const family = familyOf(cfg);
  const frozen = new Set(family.frozen?.(cfg) ?? []);
  const trained = Object.keys(family.paramShapes(cfg)).filter((name) => !frozen.has(name));
  return Object.fromEntries(trained.map((name) => [name, params[name]]));
}

/** Which parameters weight decay applies to. */
export function decayRule(cfg: ModelConfig): (name: string) => boolean {
  return familyOf(cfg).isDecayed;
}

/** Which parameters Muon trains: the hidden layers' weight matrices (each family says which). */
export function hiddenMatrixRule(cfg: ModelConfig): (name: string) => boolean {
  return familyOf(cfg).isHiddenMatrix;
}

export function countParams(cfg: ModelConfig): number {
  return familyOf(cfg).countParams(cfg);
}

export function forwardFlops(cfg: ModelConfig): number {
  return familyOf(cfg).forwardFlops(cfg);
}

/** Where the model looks, for `vit attention`, or null when its family has nothing of the kind. */
export function tokenMaps(params: Params, cfg: ModelConfig, images: tf.Tensor4D): TokenMaps | null {
  const tokenMap = familyOf(cfg).tokenMap;
  if (!tokenMap) return null;
  const input = atModelSize(cfg, images);
  try {
    return tokenMap.map(params, cfg, input);
  } finally {
    if (input !== images) input.dispose();
  }
}

/** What tokenMaps draws for this model, in words, or null where its family has no attention to draw. */
export function tokenMapName(cfg: ModelConfig): string | null {
  const what = familyOf(cfg).tokenMap?.what;
  return typeof what === 'function' ? what(cfg) : (what ?? null);
}
