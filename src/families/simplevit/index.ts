import { attentionRollout } from '../../layers/attention-rollout.js';
import type { Family } from '../family.js';
import { type SimpleVitConfig, SimpleVitSchema } from './config.js';
import { simpleVitForward } from './model.js';
import { simpleVitOnnx } from './onnx.js';
import { initParams, isDecayed, isHiddenMatrix, paramShapes } from './params.js';
import { simpleVitPytorch } from './pytorch.js';
import { countParams, forwardFlops } from './size.js';

/** SimpleViT (model.ts): lucidrains', as kentaroy47/vision-transformers-cifar10 trains it. */
export const simplevit: Family<SimpleVitConfig> = {
  name: 'simplevit',
  schema: SimpleVitSchema,
  title: () => 'SimpleViT',
  paramShapes,
  init: initParams,
  forward: simpleVitForward,
  isDecayed,
  isHiddenMatrix,
  countParams,
  forwardFlops,
  pytorch: simpleVitPytorch,
  onnx: simpleVitOnnx,
  tokenMap: {
    what: 'attention rollout, averaged over all tokens (the mean pooling)',
    map: (params, cfg, images) =>
      attentionRollout((captured) => simpleVitForward(params, cfg, images, { training: false, captureAttention: captured }), { pool: 'mean', clsToken: false }),
  },
};
