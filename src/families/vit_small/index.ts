import { attentionRollout } from '../../layers/attention-rollout.js';
import type { Family } from '../family.js';
import { type VitSmallConfig, VitSmallSchema } from './config.js';
import { vitSmallForward } from './model.js';
import { vitSmallOnnx } from './onnx.js';
import { initParams, isDecayed, isHiddenMatrix, paramShapes } from './params.js';
import { vitSmallPytorch } from './pytorch.js';
import { countParams, forwardFlops } from './size.js';

/**
 * The ViT for small datasets (model.ts): Shifted Patch Tokenization and Locality Self-Attention,
 * kentaroy47/vision-transformers-cifar10's models/vit_small.py (`--net vit_small`, `--net vit_tiny`).
 */
export const vitSmall: Family<VitSmallConfig> = {
  name: 'vit_small',
  schema: VitSmallSchema,
  title: (cfg) => `ViT-SPT-LSA-${cfg.dim}/${cfg.depth}`,
  paramShapes,
  init: initParams,
  forward: vitSmallForward,
  isDecayed,
  isHiddenMatrix,
  countParams,
  forwardFlops,
  pytorch: vitSmallPytorch,
  onnx: vitSmallOnnx,
  tokenMap: {
    what: 'attention rollout from the cls token',
    map: (params, cfg, images) =>
      attentionRollout((captured) => vitSmallForward(params, cfg, images, { training: false, captureAttention: captured }), { pool: cfg.pool, clsToken: true }),
  },
};
