import type { SafeTensor } from '../../checkpoint/safetensors.js';
import { CHANNELS } from '../../data/cifar10.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import { type Param, checkpointParams, layerNorm, linear, mlp } from '../../onnx/layers.js';
import type { CaitConfig } from './config.js';
import { numPatches } from './params.js';

/**
 * The CaiT of model.ts in evaluation mode (no dropout, no layer dropout), as ONNX nodes:
 * normalised NCHW images [b, 3, s, s] → logits [b, num_classes]. patches → Linear → + positions →
 * `depth` patch blocks → cls token → `cls_depth` class-attention blocks over [cls; patches] →
 * LayerNorm → Linear.
 */
export function caitOnnx(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: CaitConfig): string {
  const p = checkpointParams(g, weights);
  const n = numPatches(cfg);
  let patches = g.op('Add', [patchEmbedding(g, p, cfg, images), p('pos_embed')], {}, 'embedded');
  for (let i = 0; i < cfg.depth; i++) patches = block(g, p, cfg, `patch_blocks.${i}`, patches, null, n);
  // cls_token [1, 1, dim] repeated over the batch, whose size is known only at run time.
  const batch = g.op('Shape', [images], { start: 0, end: 1 }, 'batch');
  let cls = g.op('Expand', [p('cls_token'), g.op('Concat', [batch, g.int64([1, cfg.dim])], { axis: 0 })], {}, 'cls');
  for (let i = 0; i < cfg.cls_depth; i++) cls = block(g, p, cfg, `cls_blocks.${i}`, cls, patches, 1);
  const pooled = g.op('Gather', [cls, g.int64(0)], { axis: 1 }, 'pooled'); // [b, 1, dim] → [b, dim]
  const normed = layerNorm(g, pooled, p('head.norm.weight'), p('head.norm.bias'), 'head.norm');
  return linear(g, normed, p('head.linear.weight'), p('head.linear.bias'), 'head.linear');
}

/** x ← x + γ₁ ⊙ Attn(LN(x)[, context]), x ← x + γ₂ ⊙ MLP(LN(x)), on x of `queries` tokens. */
function block(g: GraphBuilder, p: Param, cfg: CaitConfig, prefix: string, x: string, context: string | null, queries: number): string {
  const attnIn = layerNorm(g, x, p(`${prefix}.attn.norm.weight`), p(`${prefix}.attn.norm.bias`), `${prefix}.attn.norm`);
  const attended = talkingHeads(g, attnIn, context, p, `${prefix}.attn`, cfg, queries);
  x = g.op('Add', [x, g.op('Mul', [attended, p(`${prefix}.attn.scale`)])], {}, `${prefix}.attn.residual`);
  const mlpIn = layerNorm(g, x, p(`${prefix}.mlp.norm.weight`), p(`${prefix}.mlp.norm.bias`), `${prefix}.mlp.norm`);
  return g.op('Add', [x, g.op('Mul', [mlp(g, mlpIn, p, `${prefix}.mlp`), p(`${prefix}.mlp.scale`)])], {}, `${prefix}.mlp.residual`);
}

/** attention.ts's talking-heads attention: queries from x, keys and values from x or [x; context]. */
function talkingHeads(g: GraphBuilder, x: string, context: string | null, p: Param, prefix: string, cfg: CaitConfig, queries: number): string {
  const { heads, dim_head: dimHead } = cfg;
  const keys = context ? queries + numPatches(cfg) : queries;
  const keysIn = context ? g.op('Concat', [x, context], { axis: 1 }, `${prefix}.context`) : x;
  const [k, v] = g.ops('Split', [linear(g, keysIn, p(`${prefix}.kv.weight`), undefined, `${prefix}.kv`)], 2, { axis: -1 }, `${prefix}.kv.split`);
  // 'b n (h d) -> b h n d' (or 'b h d n' for the keys, transposed for the product).
  const perHead = (t: string, tokens: number, perm: number[], name: string) =>
    g.op('Transpose', [g.op('Reshape', [t, g.int64([-1, tokens, heads, dimHead])])], { perm }, `${prefix}.${name}`);
  const q = g.op('Mul', [linear(g, x, p(`${prefix}.q.weight`), undefined, `${prefix}.q`), g.scalar(dimHead ** -0.5)]);
  const dots = g.op('MatMul', [perHead(q, queries, [0, 2, 1, 3], 'queries'), perHead(k, keys, [0, 2, 3, 1], 'keys_t')], {}, `${prefix}.dots`);
  // Talking heads: W [heads out, heads in] · [b, heads in, (n m)], MatMul broadcasting W over the batch.
  const mix = (a: string, weight: string, name: string) => {
    const flat = g.op('Reshape', [a, g.int64([-1, heads, queries * keys])]);
    return g.op('Reshape', [g.op('MatMul', [p(weight), flat]), g.int64([-1, heads, queries, keys])], {}, `${prefix}.${name}`);
  };
  const probabilities = g.op('Softmax', [mix(dots, `${prefix}.mix_pre.weight`, 'logits')], { axis: -1 }, `${prefix}.probabilities`);
  const attention = mix(probabilities, `${prefix}.mix_post.weight`, 'mixed');
  const out = g.op('Transpose', [g.op('MatMul', [attention, perHead(v, keys, [0, 2, 1, 3], 'values')])], { perm: [0, 2, 1, 3] });
  const concatenated = g.op('Reshape', [out, g.int64([-1, queries, heads * dimHead])], {}, `${prefix}.heads`);
  return linear(g, concatenated, p(`${prefix}.out.weight`), p(`${prefix}.out.bias`), `${prefix}.out`);
}

/** Patches in (row, column, channel) order from NCHW, as model.ts cuts them, projected: [b, patches, dim]. */
function patchEmbedding(g: GraphBuilder, p: Param, cfg: CaitConfig, images: string): string {
  const size = cfg.patch_size;
  const side = cfg.image_size / size;
  const cut = g.op('Reshape', [images, g.int64([-1, CHANNELS, side, size, side, size])]); // b c h p1 w p2
  const ordered = g.op('Transpose', [cut], { perm: [0, 2, 4, 3, 5, 1] }); // b h w p1 p2 c
  const patches = g.op('Reshape', [ordered, g.int64([-1, side * side, size * size * CHANNELS])], {}, 'patches');
  return linear(g, patches, p('patch_embed.weight'), p('patch_embed.bias'), 'patch_embed');
}
