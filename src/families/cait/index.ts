import type { Family } from '../family.js';
import { classAttentionMap } from './attention-map.js';
import { type CaitConfig, CaitSchema } from './config.js';
import { caitForward } from './model.js';
import { caitOnnx } from './onnx.js';
import { initParams, isDecayed, isHiddenMatrix, paramShapes } from './params.js';
import { caitPytorch } from './pytorch.js';
import { countParams, forwardFlops } from './size.js';

/** CaiT (model.ts): kentaroy47/vision-transformers-cifar10's, lucidrains/vit-pytorch's, after Touvron et al. 2021. */
export const cait: Family<CaitConfig> = {
  name: 'cait',
  schema: CaitSchema,
  title: () => 'CaiT',
  paramShapes,
  init: initParams,
  forward: caitForward,
  isDecayed,
  isHiddenMatrix,
  countParams,
  forwardFlops,
  pytorch: caitPytorch,
  onnx: caitOnnx,
  tokenMap: { what: "the last class-attention block's attention from the cls token", map: classAttentionMap },
};
