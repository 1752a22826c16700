import type { Family } from '../family.js';
import { type MlpMixerConfig, MlpMixerSchema } from './config.js';
import { mlpMixerForward } from './model.js';
import { mlpMixerOnnx } from './onnx.js';
import { initParams, isDecayed, isHiddenMatrix, paramShapes } from './params.js';
import { mlpMixerPytorch } from './pytorch.js';
import { countParams, forwardFlops } from './size.js';

/**
 * MLP-Mixer (model.ts): kentaroy47/vision-transformers-cifar10's (lucidrains/mlp-mixer-pytorch's).
 * No attention, so no token map: `vit attention` says so in one line.
 */
export const mlpmixer: Family<MlpMixerConfig> = {
  name: 'mlpmixer',
  schema: MlpMixerSchema,
  title: (cfg) => `MLP-Mixer-${cfg.dim}/${cfg.depth}`,
  paramShapes,
  init: initParams,
  forward: mlpMixerForward,
  isDecayed,
  isHiddenMatrix,
  countParams,
  forwardFlops,
  pytorch: mlpMixerPytorch,
  onnx: mlpMixerOnnx,
};
