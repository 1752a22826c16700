import type { SafeTensor } from '../../checkpoint/safetensors.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import { type Param, checkpointParams, layerNorm, linear } from '../../onnx/layers.js';
import { clsTransformerOnnx } from '../vit/onnx.js';
import type { VitSmallConfig } from './config.js';
import { MASK_VALUE } from './lsa.js';
import { SPT_VIEWS, numPatches, patchDim } from './params.js';

/**
 * The ViT of model.ts (SPT and LSA) in evaluation mode, as ONNX nodes: normalised NCHW images
 * [b, 3, image_size, image_size] → logits [b, num_classes]. Shifted patch tokens → [cls; tokens] +
 * positions → `depth` pre-norm blocks of LSA and an MLP → cls token (or mean token) → LayerNorm → Linear.
 */
export function vitSmallOnnx(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: VitSmallConfig): string {
  const p = checkpointParams(g, weights);
  const tokens = numPatches(cfg) + 1;
  const patches = shiftedPatchTokens(g, p, cfg, images);
  return clsTransformerOnnx(g, p, cfg, images, patches, (x, prefix) => localitySelfAttention(g, x, p, prefix, cfg, tokens));
}

/**
 * spt.ts in NCHW: one Pad of zeros (mode 'constant', the default), 1 on every side of H and W;
 * the four shifted views as Slices of it (right, left, down, up: windows at (1, 0), (1, 2),
 * (0, 1), (2, 1)), concatenated after the image on the channels; then patches flattened in
 * (p1 p2 c) order, LayerNorm, Linear.
 */
function shiftedPatchTokens(g: GraphBuilder, p: Param, cfg: VitSmallConfig, images: string): string {
  const s = cfg.image_size;
  const padded = g.op('Pad', [images, g.int64([0, 0, 1, 1, 0, 0, 1, 1])], {}, 'spt.padded');
  const window = (top: number, left: number, name: string) =>
    g.op('Slice', [padded, g.int64([top, left]), g.int64([top + s, left + s]), g.int64([2, 3])], {}, `spt.${name}`);
  const views = [images, window(1, 0, 'right'), window(1, 2, 'left'), window(0, 1, 'down'), window(2, 1, 'up')];
  const stacked = g.op('Concat', views, { axis: 1 }, 'spt.stacked'); // [b, 15, s, s]
  const size = cfg.patch_size;
  const side = s / size;
  const cut = g.op('Reshape', [stacked, g.int64([-1, SPT_VIEWS * 3, side, size, side, size])]); // b c h p1 w p2
  const ordered = g.op('Transpose', [cut], { perm: [0, 2, 4, 3, 5, 1] }); // b h w p1 p2 c
  const patches = g.op('Reshape', [ordered, g.int64([-1, side * side, patchDim(cfg)])], {}, 'spt.patches');
  const normed = layerNorm(g, patches, p('patch_embed.norm.weight'), p('patch_embed.norm.bias'), 'patch_embed.norm');
  return linear(g, normed, p('patch_embed.linear.weight'), p('patch_embed.linear.bias'), 'patch_embed.linear');
}

/**
 * lsa.ts as nodes: per head softmax(mask(q · e^τ · kᵀ)) · v, heads concatenated, projected; the
 * mask is dots · (1 − I) + I · (−max float32), as lsa.ts computes it.
 */
function localitySelfAttention(g: GraphBuilder, x: string, p: Param, prefix: string, cfg: VitSmallConfig, tokens: number): string {
  const { heads, dim_head: dimHead } = cfg;
  const [q, k, v] = g.ops('Split', [linear(g, x, p(`${prefix}.qkv.weight`), undefined, `${prefix}.qkv`)], 3, { axis: -1 }, `${prefix}.qkv.split`);
  // 'b n (h d) -> b h n d' (or 'b h d n' for the keys, transposed for the product).
  const perHead = (t: string, perm: number[], name: string) =>
    g.op('Transpose', [g.op('Reshape', [t, g.int64([-1, tokens, heads, dimHead])])], { perm }, `${prefix}.${name}`);
  const scale = g.op('Exp', [p(`${prefix}.temperature`)], {}, `${prefix}.scale`);
  const queries = perHead(g.op('Mul', [q, scale]), [0, 2, 1, 3], 'queries');
  const keysT = perHead(k, [0, 2, 3, 1], 'keys_t');
  const values = perHead(v, [0, 2, 1, 3], 'values');
  const dots = g.op('MatMul', [queries, keysT], {}, `${prefix}.dots`);
  const [offDiagonal, diagonalFill] = diagonalMask(g, tokens);
  const masked = g.op('Add', [g.op('Mul', [dots, offDiagonal]), diagonalFill], {}, `${prefix}.masked`);
  const probabilities = g.op('Softmax', [masked], { axis: -1 }, `${prefix}.probabilities`);
  const perToken = g.op('Transpose', [g.op('MatMul', [probabilities, values])], { perm: [0, 2, 1, 3] });
  const concatenated = g.op('Reshape', [perToken, g.int64([-1, tokens, heads * dimHead])], {}, `${prefix}.heads`);
  return linear(g, concatenated, p(`${prefix}.out.weight`), p(`${prefix}.out.bias`), `${prefix}.out`);
}

/** 1 − I and I · (−max float32), [tokens, tokens], shared by every block. */
function diagonalMask(g: GraphBuilder, tokens: number): [string, string] {
  const keep = new Float32Array(tokens * tokens).fill(1);
  const fill = new Float32Array(tokens * tokens);
  for (let i = 0; i < tokens; i++) {
    keep[i * tokens + i] = 0;
    fill[i * tokens + i] = MASK_VALUE;
  }
  return [g.float('lsa.off_diagonal', [tokens, tokens], keep), g.float('lsa.diagonal_fill', [tokens, tokens], fill)];
}
