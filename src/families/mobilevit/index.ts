import type { Family } from '../family.js';
import { type MobileVitConfig, MobileVitSchema } from './config.js';
import { mobileVitForward } from './model.js';
import { mobileVitOnnx } from './onnx.js';
import { bufferShapes, initParams, isDecayed, isHiddenMatrix, paramShapes } from './params.js';
import { mobileVitPytorch } from './pytorch.js';
import { countParams, forwardFlops } from './size.js';

/**
 * MobileViT (model.ts): kentaroy47/vision-transformers-cifar10's, from "MobileViT" (Mehta &
 * Rastegari 2022). Its transformers attend across patches per position within a patch, with no
 * cls token or pooled query: no token map to draw.
 */
export const mobilevit: Family<MobileVitConfig> = {
  name: 'mobilevit',
  schema: MobileVitSchema,
  title: (cfg) => (cfg.dims.join() === '64,80,96' && cfg.channels.join() === '16,16,24,24,48,48,64,64,80,80,320' && cfg.expansion === 2 ? 'MobileViT-XXS' : 'MobileViT'),
  paramShapes,
  bufferShapes,
  init: initParams,
  forward: mobileVitForward,
  isDecayed,
  isHiddenMatrix,
  countParams,
  forwardFlops,
  pytorch: mobileVitPytorch,
  onnx: mobileVitOnnx,
};
