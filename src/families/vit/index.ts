import { attentionRollout } from '../../layers/attention-rollout.js';
import type { Family } from '../family.js';
import { type VitConfig, VitSchema } from './config.js';
import { vitForward } from './model.js';
import { vitOnnx } from './onnx.js';
import { initParams, isDecayed, isHiddenMatrix, paramShapes } from './params.js';
import { vitPytorch } from './pytorch.js';
import { countParams, forwardFlops } from './size.js';

/** The Vision Transformer (model.ts): vit-pytorch's, as kentaroy47/vision-transformers-cifar10 trains it. */
export const vit: Family<VitConfig> = {
  name: 'vit',
  schema: VitSchema,
  title: () => 'ViT',
  paramShapes,
  init: initParams,
  forward: vitForward,
  isDecayed,
  isHiddenMatrix,
  countParams,
  forwardFlops,
  pytorch: vitPytorch,
  onnx: vitOnnx,
  tokenMap: {
    what: (cfg) => (cfg.pool === 'mean' ? 'attention rollout, averaged over all tokens (the mean pooling)' : 'attention rollout from the cls token'),
    map: (params, cfg, images) =>
      attentionRollout((captured) => vitForward(params, cfg, images, { training: false, captureAttention: captured }), { pool: cfg.pool, clsToken: true }),
  },
};
