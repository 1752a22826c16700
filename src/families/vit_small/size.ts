import { countParams as vitParams, forwardFlops as vitFlops } from '../vit/size.js';
import type { VitSmallConfig } from './config.js';
import { patchDim } from './params.js';

/** The ViT's count (src/families/vit/size.ts) with SPT's wider patch Linear, plus its LayerNorm and each block's temperature. */
export function countParams(cfg: VitSmallConfig): number {
  return vitParams(cfg, patchDim(cfg)) + 2 * patchDim(cfg) + cfg.depth;
}

/**
 * Forward-pass FLOPs per image, 2 · multiply-accumulates of the matrix products, as the ViT's: the
 * SPT Linear reads 5 views' patches; norms, softmax, the shifts, the mask and GELU are left out.
 */
export function forwardFlops(cfg: VitSmallConfig): number {
  return vitFlops(cfg, patchDim(cfg));
}
