import type { Family } from '../family.js';
import { type ConvMixerConfig, ConvMixerSchema } from './config.js';
import { convMixerForward } from './model.js';
import { convMixerOnnx } from './onnx.js';
import { bufferShapes, initParams, isDecayed, isHiddenMatrix, paramShapes } from './params.js';
import { convMixerPytorch } from './pytorch.js';
import { countParams, forwardFlops } from './size.js';

/** ConvMixer (model.ts): kentaroy47/vision-transformers-cifar10's, from "Patches Are All You Need?". */
export const convmixer: Family<ConvMixerConfig> = {
  name: 'convmixer',
  schema: ConvMixerSchema,
  title: (cfg) => `ConvMixer-${cfg.dim}/${cfg.depth}`,
  paramShapes,
  bufferShapes,
  init: initParams,
  forward: convMixerForward,
  isDecayed,
  isHiddenMatrix,
  countParams,
  forwardFlops,
  pytorch: convMixerPytorch,
  onnx: convMixerOnnx,
};
