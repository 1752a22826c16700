import type { SafeTensor } from '../../checkpoint/safetensors.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import { type Param, checkpointParams, layerNorm, linear, mlp } from '../../onnx/layers.js';
import { type SwinConfig, isShifted, swinStages } from './config.js';
import { displacement, relativePositionIndex, shiftedWindowMask } from './windows.js';

/**
 * The Swin Transformer of model.ts as ONNX nodes: normalised NCHW images [b, 3, s, s] → logits
 * [b, num_classes]. The images turn NHWC once; the tokens stay on their grid [b, side, side, dim]
 * through four stages of patch merging and window-attention blocks, then mean → LayerNorm → Linear.
 */
export function swinOnnx(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: SwinConfig): string {
  const p = checkpointParams(g, weights);
  let x = g.op('Transpose', [images], { perm: [0, 2, 3, 1] }, 'nhwc');
  for (const stage of swinStages(cfg)) {
    const prefix = `stages.${stage.index}`;
    x = patchMerging(g, p, x, stage.side, stage.inChannels, stage.factor, `${prefix}.merge`);
    for (let j = 0; j < stage.layers; j++) {
      const block = `${prefix}.blocks.${j}`;
      const attnIn = layerNorm(g, x, p(`${block}.attn.norm.weight`), p(`${block}.attn.norm.bias`), `${block}.attn.norm`);
      const bias = attentionBias(g, weights, cfg, stage.side, isShifted(j), `${block}.attn`);
      const attended = windowAttention(g, p, attnIn, bias, cfg, stage.heads, stage.side, isShifted(j), `${block}.attn`);
      x = g.op('Add', [x, attended], {}, `${block}.attn.residual`);
      const mlpIn = layerNorm(g, x, p(`${block}.mlp.norm.weight`), p(`${block}.mlp.norm.bias`), `${block}.mlp.norm`);
      x = g.op('Add', [x, mlp(g, mlpIn, p, `${block}.mlp`)], {}, `${block}.mlp.residual`);
    }
  }
  const pooled = g.op('ReduceMean', [x], { axes: [1, 2], keepdims: 0 }, 'pooled');
  const normed = layerNorm(g, pooled, p('head.norm.weight'), p('head.norm.bias'), 'head.norm');
  return linear(g, normed, p('head.linear.weight'), p('head.linear.bias'), 'head.linear');
}

/** 'b (h f1) (w f2) c -> b h w (c f1 f2)' (nn.Unfold's order), then the Linear: [b, side, side, dim]. */
function patchMerging(g: GraphBuilder, p: Param, x: string, side: number, channels: number, f: number, prefix: string): string {
  const cut = g.op('Reshape', [x, g.int64([-1, side, f, side, f, channels])]); // b h f1 w f2 c
  const ordered = g.op('Transpose', [cut], { perm: [0, 1, 3, 5, 2, 4] }); // b h w c f1 f2
  const merged = g.op('Reshape', [ordered, g.int64([-1, side, side, channels * f * f])], {}, `${prefix}.patches`);
  return linear(g, merged, p(`${prefix}.weight`), p(`${prefix}.bias`), prefix);
}

/**
 * What a block adds to its attention logits, computed here from the weights once: the position
 * bias [w², w²] (the table's entry per relative offset, or the table), plus, in a shifted block,
 * its masks per window: [windows, w², w²], −∞ where a wrapped-around piece would be attended.
 */
function attentionBias(g: GraphBuilder, weights: Record<string, SafeTensor>, cfg: SwinConfig, side: number, shifted: boolean, prefix: string): string {
  const w = cfg.window_size;
  const table = weights[`${prefix}.pos_embed`];
  if (table?.dtype !== 'F32') throw new Error(`onnx export: no float32 weight ${prefix}.pos_embed`);
  const index = cfg.relative_pos_embedding ? relativePositionIndex(w) : null;
  const bias = Float32Array.from({ length: w ** 4 }, (_, pair) => table.data[index ? index[pair] : pair]);
  if (!shifted) return g.float(`${prefix}.bias`, [w * w, w * w], bias);
  const mask = shiftedWindowMask(w, side);
  const windows = mask.length / bias.length;
  return g.float(`${prefix}.bias`, [windows, w * w, w * w], mask.map((m, k) => m + bias[k % bias.length]));
}

/**
 * Window attention on x [b, side, side, dim], as model.ts's windowAttention: (shifted: the grid
 * rolled up and left by ⌊w/2⌋) → q, k, v → per head and window softmax(q·kᵀ/√d + bias)·v →
 * heads concatenated → Linear (→ rolled back).
 */
function windowAttention(g: GraphBuilder, p: Param, x: string, bias: string, cfg: SwinConfig, heads: number, side: number, shifted: boolean, prefix: string): string {
  const { window_size: ws, head_dim: d } = cfg;
  const perSide = side / ws;
  const shift = shifted ? displacement(ws) : 0;
  const rolled = shift > 0 ? cyclicShift(g, x, side, -shift, `${prefix}.shift`) : x;
  const [q, k, v] = g.ops('Split', [linear(g, rolled, p(`${prefix}.qkv.weight`), undefined, `${prefix}.qkv`)], 3, { axis: -1 }, `${prefix}.qkv.split`);
  // 'b (nh wh) (nw ww) (h d) -> b h (nh nw) (wh ww) d', through b nh wh nw ww h d.
  const windows = (t: string, perm: number[], last: number[], name: string) => {
    const cut = g.op('Reshape', [t, g.int64([-1, perSide, ws, perSide, ws, heads, d])]);
    return g.op('Reshape', [g.op('Transpose', [cut], { perm }), g.int64([-1, heads, perSide * perSide, ...last])], {}, `${prefix}.${name}`);
  };
  const queries = windows(q, [0, 5, 1, 3, 2, 4, 6], [ws * ws, d], 'queries');
  const keysT = windows(k, [0, 5, 1, 3, 6, 2, 4], [d, ws * ws], 'keys_t');
  const values = windows(v, [0, 5, 1, 3, 2, 4, 6], [ws * ws, d], 'values');
  const logits = g.op('Add', [g.op('Mul', [g.op('MatMul', [queries, keysT]), g.scalar(d ** -0.5)]), bias], {}, `${prefix}.logits`);
  const probabilities = g.op('Softmax', [logits], { axis: -1 }, `${prefix}.probabilities`);
  // 'b h (nh nw) (wh ww) d -> b (nh wh) (nw ww) (h d)'.
  const perWindow = g.op('Reshape', [g.op('MatMul', [probabilities, values]), g.int64([-1, heads, perSide, perSide, ws, ws, d])]);
  const ordered = g.op('Transpose', [perWindow], { perm: [0, 2, 4, 3, 5, 1, 6] }); // b nh wh nw ww h d
  const out = g.op('Reshape', [ordered, g.int64([-1, side, side, heads * d])], {}, `${prefix}.heads`);
  const projected = linear(g, out, p(`${prefix}.out.weight`), p(`${prefix}.out.bias`), `${prefix}.out`);
  return shift > 0 ? cyclicShift(g, projected, side, shift, `${prefix}.unshift`) : projected;
}

/** torch.roll(x, (shift, shift), dims=(1, 2)) as windows.ts's cyclicShift: per axis, the last s rows, then the rest (Slice, Slice, Concat). */
function cyclicShift(g: GraphBuilder, x: string, n: number, shift: number, name: string): string {
  const s = ((shift % n) + n) % n;
  let y = x;
  for (const axis of [1, 2]) {
    const slice = (from: number, to: number) => g.op('Slice', [y, g.int64([from]), g.int64([to]), g.int64([axis])]);
    y = g.op('Concat', [slice(n - s, n), slice(0, n - s)], { axis }, `${name}.${axis}`);
  }
  return y;
}
