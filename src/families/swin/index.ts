import type { Family } from '../family.js';
import { type SwinConfig, SwinSchema } from './config.js';
import { swinForward } from './model.js';
import { swinOnnx } from './onnx.js';
import { initParams, isDecayed, isHiddenMatrix, paramShapes } from './params.js';
import { swinPytorch } from './pytorch.js';
import { countParams, forwardFlops } from './size.js';

/** The Swin Transformer (model.ts): berniwal's, as kentaroy47/vision-transformers-cifar10's `--net swin` trains it. */
export const swin: Family<SwinConfig> = {
  name: 'swin',
  schema: SwinSchema,
  title: (cfg) => (cfg.hidden_dim === 96 && cfg.layers.join() === '2,2,6,2' && cfg.heads.join() === '3,6,12,24' ? 'Swin-T' : 'Swin'),
  paramShapes,
  init: initParams,
  forward: swinForward,
  isDecayed,
  isHiddenMatrix,
  countParams,
  forwardFlops,
  pytorch: swinPytorch,
  onnx: swinOnnx,
};
