import type { SafeTensor } from '../../checkpoint/safetensors.js';
import { CHANNELS } from '../../data/cifar10.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import { attention, checkpointParams, layerNorm, linear, mlp } from '../../onnx/layers.js';
import { type SimpleVitConfig, gridSide } from './config.js';
import { numPatches } from './params.js';
import { sinCosPositions } from './positions.js';

/**
 * The SimpleViT of model.ts as ONNX nodes: normalised NCHW images [b, 3, image_size, image_size] →
 * logits [b, num_classes]. patches → Linear → + the sin-cos table (an initializer) → `depth`
 * blocks with the norms inside the sublayers → mean over the tokens → LayerNorm → Linear.
 */
export function simpleVitOnnx(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: SimpleVitConfig): string {
  const p = checkpointParams(g, weights);
  const tokens = numPatches(cfg);
  const size = cfg.patch_size;
  const side = gridSide(cfg);
  // NCHW 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)': model.ts's NHWC cut, the channel axis moved last.
  const cut = g.op('Reshape', [images, g.int64([-1, CHANNELS, side, size, side, size])]); // b c h p1 w p2
  const ordered = g.op('Transpose', [cut], { perm: [0, 2, 4, 3, 5, 1] }); // b h w p1 p2 c
  const patches = g.op('Reshape', [ordered, g.int64([-1, tokens, size * size * CHANNELS])], {}, 'patches');
  const embedded = linear(g, patches, p('patch_embed.weight'), p('patch_embed.bias'), 'patch_embed');
  let x = g.op('Add', [embedded, g.float('positions', [1, tokens, cfg.dim], sinCosPositions(cfg))], {}, 'embedded');

  const settings = { heads: cfg.heads, dim_head: cfg.dim_head, outBias: false };
  for (let i = 0; i < cfg.depth; i++) {
    const block = `blocks.${i}`;
    const attnIn = layerNorm(g, x, p(`${block}.attn.norm.weight`), p(`${block}.attn.norm.bias`), `${block}.attn.norm`);
    x = g.op('Add', [x, attention(g, attnIn, p, `${block}.attn`, settings, tokens)], {}, `${block}.attn.residual`);
    const mlpIn = layerNorm(g, x, p(`${block}.mlp.norm.weight`), p(`${block}.mlp.norm.bias`), `${block}.mlp.norm`);
    x = g.op('Add', [x, mlp(g, mlpIn, p, `${block}.mlp`)], {}, `${block}.mlp.residual`);
  }

  const pooled = g.op('ReduceMean', [x], { axes: [1], keepdims: 0 }, 'pooled');
  const normed = layerNorm(g, pooled, p('head.norm.weight'), p('head.norm.bias'), 'head.norm');
  return linear(g, normed, p('head.linear.weight'), p('head.linear.bias'), 'head.linear');
}
