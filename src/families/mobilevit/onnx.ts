import type { SafeTensor } from '../../checkpoint/safetensors.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import { type Param, attention, batchNorm, checkpointParams, conv, layerNorm, linear, silu } from '../../onnx/layers.js';
import { type MobileVitBlock, type MobileVitConfig, type Mv2Block, TRANSFORMER, mobileVitBlocks, mv2Blocks } from './config.js';

/**
 * The MobileViT of model.ts in evaluation mode, as ONNX nodes on normalised NCHW images
 * [b, 3, s, s] → logits [b, num_classes]: stem, MV2 and MobileViT blocks, head conv, mean, Linear.
 */
export function mobileVitOnnx(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: MobileVitConfig): string {
  const p = checkpointParams(g, weights);
  const mv2 = mv2Blocks(cfg);
  const mvit = mobileVitBlocks(cfg);
  let x = cbs(g, weights, p, images, 'stem.conv', 'stem.norm', 2);
  for (const stage of [...mv2.slice(0, 5), mvit[0], mv2[5], mvit[1], mv2[6], mvit[2]]) {
    x = 'hidden' in stage ? mv2Block(g, weights, p, x, stage) : mobileVitBlock(g, weights, p, x, stage, cfg.patch_size);
  }
  x = cbs(g, weights, p, x, 'head.conv', 'head.norm');
  const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [x], {}, 'pool')], { axis: 1 }, 'pooled');
  return g.op('MatMul', [pooled, p('fc.weight')], {}, 'fc');
}

/** Conv (k×k, padding (k − 1)/2, `group` groups) → BatchNorm `norm` → SiLU unless `act` is false. */
function cbs(g: GraphBuilder, weights: Record<string, SafeTensor>, p: Param, x: string, prefix: string, norm = `${prefix}_norm`, stride = 1, act = true, group = 1): string {
  const k = weights[`${prefix}.weight`].shape[0];
  const pad = (k - 1) / 2;
  return batchNorm(g, conv(g, x, weights, prefix, { stride, pads: [pad, pad, pad, pad], group }), p, norm, act ? 'silu_after' : 'none');
}

/** The inverted residual: expand, depthwise (strided), project; plus x where the block keeps the shape. */
function mv2Block(g: GraphBuilder, weights: Record<string, SafeTensor>, p: Param, x: string, block: Mv2Block): string {
  const { prefix, stride, hidden } = block;
  const expanded = block.expand ? cbs(g, weights, p, x, `${prefix}.expand`) : x;
  const filtered = cbs(g, weights, p, expanded, `${prefix}.depthwise`, undefined, stride, true, hidden);
  const projected = cbs(g, weights, p, filtered, `${prefix}.project`, undefined, 1, false);
  return block.residual ? g.op('Add', [x, projected], {}, `${prefix}.residual`) : projected;
}

/**
 * The MobileViT block on NCHW x: local convs, 'b d (h ph) (w pw) -> (b ph pw) (h w) d', the
 * transformer, back, the 1×1 conv, the concatenation (new channels first) and the fusing conv.
 */
function mobileVitBlock(g: GraphBuilder, weights: Record<string, SafeTensor>, p: Param, x: string, block: MobileVitBlock, patch: number): string {
  const { prefix, dim, side } = block;
  const h = side / patch;
  const tokensPerGroup = h * h;
  const local = cbs(g, weights, p, cbs(g, weights, p, x, `${prefix}.local`), `${prefix}.to_tokens`);
  const cut = g.op('Reshape', [local, g.int64([-1, dim, h, patch, h, patch])]); // b d h ph w pw
  const grouped = g.op('Transpose', [cut], { perm: [0, 3, 5, 2, 4, 1] }); // b ph pw h w d
  let tokens = g.op('Reshape', [grouped, g.int64([-1, tokensPerGroup, dim])], {}, `${prefix}.tokens`);
  for (let j = 0; j < block.depth; j++) {
    const layer = `${prefix}.layers.${j}`;
    const attnIn = layerNorm(g, tokens, p(`${layer}.attn.norm.weight`), p(`${layer}.attn.norm.bias`), `${layer}.attn.norm`);
    const settings = { heads: TRANSFORMER.heads, dim_head: TRANSFORMER.dimHead };
    tokens = g.op('Add', [tokens, attention(g, attnIn, p, `${layer}.attn`, settings, tokensPerGroup)], {}, `${layer}.attn.residual`);
    const mlpIn = layerNorm(g, tokens, p(`${layer}.mlp.norm.weight`), p(`${layer}.mlp.norm.bias`), `${layer}.mlp.norm`);
    const hiddenUnits = silu(g, linear(g, mlpIn, p(`${layer}.mlp.fc1.weight`), p(`${layer}.mlp.fc1.bias`), `${layer}.mlp.fc1`), `${layer}.mlp.silu`);
    tokens = g.op('Add', [tokens, linear(g, hiddenUnits, p(`${layer}.mlp.fc2.weight`), p(`${layer}.mlp.fc2.bias`), `${layer}.mlp.fc2`)], {}, `${layer}.mlp.residual`);
  }
  const ungrouped = g.op('Reshape', [tokens, g.int64([-1, patch, patch, h, h, dim])]); // b ph pw h w d
  const folded = g.op('Reshape', [g.op('Transpose', [ungrouped], { perm: [0, 5, 3, 1, 4, 2] }), g.int64([-1, dim, side, side])], {}, `${prefix}.folded`); // b d (h ph) (w pw)
  const back = cbs(g, weights, p, folded, `${prefix}.from_tokens`);
  return cbs(g, weights, p, g.op('Concat', [back, x], { axis: 1 }, `${prefix}.concat`), `${prefix}.fuse`);
}
