import type { Family } from '../family.js';
import { type CctConfig, CctSchema, prepareCct } from './config.js';
import { cctForward, cctSequencePooling } from './model.js';
import { cctOnnx } from './onnx.js';
import { cctIsDecayed, cctIsHiddenMatrix, cctParamShapes, initCctParams } from './params.js';
import { cctPytorch } from './pytorch.js';
import { cctForwardFlops, countCctParams } from './size.js';
import { frozenParams, whitenTokenizer } from './whiten.js';

/** The Compact Convolutional Transformer (model.ts): SHI-Labs/Compact-Transformers' CCT. */
export const cct: Family<CctConfig> = {
  name: 'cct',
  schema: CctSchema,
  prepare: prepareCct,
  title: () => 'CCT',
  paramShapes: cctParamShapes,
  init: initCctParams,
  initFromData: whitenTokenizer,
  frozen: frozenParams,
  forward: cctForward,
  isDecayed: cctIsDecayed,
  isHiddenMatrix: cctIsHiddenMatrix,
  countParams: countCctParams,
  forwardFlops: cctForwardFlops,
  pytorch: cctPytorch,
  onnx: cctOnnx,
  tokenMap: { what: 'sequence-pooling weights', map: cctSequencePooling },
};
