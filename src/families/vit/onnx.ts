import type { SafeTensor } from '../../checkpoint/safetensors.js';
import { CHANNELS } from '../../data/cifar10.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import { type Param, attention, checkpointParams, layerNorm, linear, mlp } from '../../onnx/layers.js';
import type { VitConfig } from './config.js';
import { numPatches } from './params.js';

/**
 * The ViT of model.ts in evaluation mode, as ONNX nodes: normalised NCHW images
 * [b, 3, image_size, image_size] → logits [b, num_classes]. patches → Linear → [cls; patches] +
 * positions → `depth` pre-norm blocks → cls token (or mean token) → LayerNorm → Linear.
 */
export function vitOnnx(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: VitConfig): string {
  const p = checkpointParams(g, weights);
  const tokens = numPatches(cfg) + 1;
  const patches = patchEmbedding(g, p, cfg, images);
  return clsTransformerOnnx(g, p, cfg, images, patches, (x, prefix) => attention(g, x, p, prefix, cfg, tokens));
}

/**
 * What follows the patch tokens [b, num_patches, dim] in the ViT and vit_small, as nodes:
 * [cls; patches] + positions → `depth` pre-norm blocks (`blockAttention` of the normalised tokens
 * and the block's `blocks.i.attn` prefix, then the MLP) → cls token (or mean token) → LayerNorm → Linear.
 */
export function clsTransformerOnnx(
  g: GraphBuilder,
  p: Param,
  cfg: Pick<VitConfig, 'dim' | 'depth' | 'pool'>,
  images: string,
  patches: string,
  blockAttention: (x: string, prefix: string) => string,
): string {
  // cls_token [1, 1, dim] repeated over the batch, whose size is known only at run time.
  const batch = g.op('Shape', [images], { start: 0, end: 1 }, 'batch');
  const cls = g.op('Expand', [p('cls_token'), g.op('Concat', [batch, g.int64([1, cfg.dim])], { axis: 0 })], {}, 'cls');
  let x = g.op('Add', [g.op('Concat', [cls, patches], { axis: 1 }), p('pos_embed')], {}, 'embedded');

  for (let i = 0; i < cfg.depth; i++) {
    const block = `blocks.${i}`;
    const attnIn = layerNorm(g, x, p(`${block}.attn.norm.weight`), p(`${block}.attn.norm.bias`), `${block}.attn.norm`);
    x = g.op('Add', [x, blockAttention(attnIn, `${block}.attn`)], {}, `${block}.attn.residual`);
    const mlpIn = layerNorm(g, x, p(`${block}.mlp.norm.weight`), p(`${block}.mlp.norm.bias`), `${block}.mlp.norm`);
    x = g.op('Add', [x, mlp(g, mlpIn, p, `${block}.mlp`)], {}, `${block}.mlp.residual`);
  }

  // x[:, 0] (a scalar index drops the axis) or the mean over the tokens: [b, dim].
  const pooled = cfg.pool === 'cls' ? g.op('Gather', [x, g.int64(0)], { axis: 1 }, 'pooled') : g.op('ReduceMean', [x], { axes: [1], keepdims: 0 }, 'pooled');
  const normed = layerNorm(g, pooled, p('head.norm.weight'), p('head.norm.bias'), 'head.norm');
  return linear(g, normed, p('head.linear.weight'), p('head.linear.bias'), 'head.linear');
}

/**
 * Cuts NCHW images into patch_size × patch_size patches, left to right, top to bottom, each
 * flattened in (row, column, channel) order, and projects them: [b, num_patches, dim]. In NHWC this
 * is vit.ts's 'b (h p1) (w p2) c -> b (h w) (p1 p2 c)'; from NCHW the channel axis moves last.
 */
function patchEmbedding(g: GraphBuilder, p: Param, cfg: VitConfig, images: string): string {
  const size = cfg.patch_size;
  const side = cfg.image_size / size;
  const cut = g.op('Reshape', [images, g.int64([-1, CHANNELS, side, size, side, size])]); // b c h p1 w p2
  const ordered = g.op('Transpose', [cut], { perm: [0, 2, 4, 3, 5, 1] }); // b h w p1 p2 c
  const patches = g.op('Reshape', [ordered, g.int64([-1, side * side, size * size * CHANNELS])], {}, 'patches');
  return linear(g, patches, p('patch_embed.weight'), p('patch_embed.bias'), 'patch_embed');
}
