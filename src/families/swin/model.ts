import * as tf from '@tensorflow/tfjs';
import { WINDOW_ATTENTION, WINDOW_ATTENTION_GRAD } from '../../backend/fused-kernels.js';
import { hasKernel } from '../../backend/kernel-traits.js';
import { CHANNELS } from '../../data/cifar10.js';
import { rearrange, reduce } from '../../einops/index.js';
import { layerNorm } from '../../layers/layer-norm.js';
import { linear } from '../../layers/linear.js';
import { mlp } from '../../layers/mlp.js';
import { type Params, paramOf } from '../../layers/params.js';
import { residualAdd } from '../../layers/residual.js';
import type { ForwardOptions } from '../family.js';
import { type SwinConfig, isShifted, swinStages } from './config.js';
import { cyclicShift, displacement, relativePositionGather, shiftedWindowMask } from './windows.js';

/**
 * The Swin Transformer (Liu et al. 2021) as berniwal/swin-transformer-pytorch writes it, the
 * version kentaroy47/vision-transformers-cifar10 trains (models/swin.py). Four stages, each
 *   x ← Linear(f × f neighbouring tokens, channels first: nn.Unfold's order)      patch merging
 *   per block:  x ← x + WindowAttention(LayerNorm(x))     windows w × w; every second block shifted
 *               x ← x + Linear(GELU(Linear(LayerNorm(x))))
 * then logits = Linear(LayerNorm(mean over the grid of x)). Tokens stay on their grid, NHWC
 * [b, side, side, dim], throughout. There is no dropout: training and evaluation are the same pass.
 */
export function swinForward(params: Params, cfg: SwinConfig, images: tf.Tensor4D, _opts: ForwardOptions): tf.Tensor2D {
  const [, height, width, channels] = images.shape;
  if (height !== cfg.image_size || width !== cfg.image_size || channels !== CHANNELS) {
    throw new Error(`swinForward: expected images [b, ${cfg.image_size}, ${cfg.image_size}, 3], got [${images.shape}]`);
  }
  const p = (name: string) => paramOf(params, name, 'swinForward');
  const w = cfg.window_size;
  return tf.tidy(() => {
    const gather = cfg.relative_pos_embedding ? relativePositionGather(w) : null;
    let x: tf.Tensor = images;
    for (const stage of swinStages(cfg)) {
      const prefix = `stages.${stage.index}`;
      x = patchMerging(x, p(`${prefix}.merge.weight`), p(`${prefix}.merge.bias`), stage.factor);
      const mask = tf.tensor3d(shiftedWindowMask(w, stage.side), [(stage.side / w) ** 2, w * w, w * w]);
      for (let j = 0; j < stage.layers; j++) {
        const block = (name: string) => p(`${prefix}.blocks.${j}.${name}`);
        const shifted = isShifted(j);
        const input = x;
        // A tidy per block frees what the backward pass does not keep as soon as the block is done.
        x = tf.tidy(() => {
          const bias = positionBias(block('attn.pos_embed'), gather, w);
          const attention = { heads: stage.heads, headDim: cfg.head_dim, windowSize: w, shift: shifted ? displacement(w) : 0 };
          const attnIn = layerNorm(input, block('attn.norm.weight'), block('attn.norm.bias'));
          const y = residualAdd(input, windowAttention(attnIn, block, attention, shifted ? tf.add(bias, mask) : bias));
          const mlpIn = layerNorm(y, block('mlp.norm.weight'), block('mlp.norm.bias'));
          return residualAdd(y, mlp(mlpIn, block, 0, (t) => t));
        });
      }
    }
    const pooled = reduce(x, 'b h w c -> b c', 'mean');
    const normed = layerNorm(pooled, p('head.norm.weight'), p('head.norm.bias'));
    return linear(normed, p('head.linear.weight'), p('head.linear.bias')) as tf.Tensor2D;
  });
}

/**
 * Joins each f × f block of tokens into one and projects it: NHWC [b, h·f, w·f, c] →
 * [b, h, w, dim]. nn.Unfold orders a block's values channel first, then row, then column,
 * `(c f1 f2)`, and the Linear's rows follow that order.
 */
export function patchMerging(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, factor: number): tf.Tensor {
  const merged = rearrange(x, 'b (h f1) (w f2) c -> b h w (c f1 f2)', { f1: factor, f2: factor });
  return linear(merged, weight, bias);
}

/**
 * The bias a window's attention logits get per pair of positions [w², w²]: the table entry of the
 * pair's relative offset (gathered as the product G · vec(table), windows.ts), or the table
 * itself without relative positions.
 */
export function positionBias(table: tf.Tensor, gather: tf.Tensor2D | null, windowSize: number): tf.Tensor {
  if (!gather) return table;
  return rearrange(tf.matMul(gather, rearrange(table, 'r c -> (r c) 1')), '(i j) 1 -> i j', { i: windowSize * windowSize });
}

export interface WindowAttentionSettings {
  heads: number;
  headDim: number;
  windowSize: number;
  /** 0 for a regular block; ⌊w/2⌋ for a shifted one. */
  shift: number;
}

/**
 * Multi-head attention within each w × w window of x [b, side, side, dim], with the weights
 * `w('attn.qkv.weight')` (no bias) and `w('attn.out.…')`: per head and window
 *   softmax(q·kᵀ / √head_dim + bias) · v,
 * heads concatenated and projected. `bias` is [w², w²] (the position bias), or [windows, w², w²]
 * with a shifted block's masks added. A shifted block rolls the grid up and left by `shift`
 * first, so that its windows straddle the regular block's, and rolls the result back. Where the
 * backend has the fused kernel, that is one kernel each way (fusedWindowAttention).
 */
export function windowAttention(x: tf.Tensor, w: (name: string) => tf.Tensor, cfg: WindowAttentionSettings, bias: tf.Tensor): tf.Tensor {
  const { heads: h, headDim, windowSize: ws, shift } = cfg;
  if (hasKernel(WINDOW_ATTENTION)) {
    // The projections are per token, so rolling before q, k, v and back after the output
    // projection is the same as the kernel's reading each window's rows where they lie.
    const out = fusedWindowAttention(linear(x, w('attn.qkv.weight')), bias, { heads: h, window: ws, shift, scale: headDim ** -0.5 });
    return linear(out, w('attn.out.weight'), w('attn.out.bias'));
  }
  const side = x.shape[1]!;
  const rolled = shift > 0 ? cyclicShift(x, -shift) : x;
  // x·[Wq Wk Wv] = [x·Wq x·Wk x·Wv]: splitting the weight's columns rather than the product (as layers/attention.ts).
  const [wq, wk, wv] = tf.split(w('attn.qkv.weight'), 3, 1);
  const windows = (t: tf.Tensor, to: string) => rearrange(t, `b (nh wh) (nw ww) (h d) -> ${to}`, { h, wh: ws, ww: ws });
  const queries = windows(linear(rolled, wq), 'b h (nh nw) (wh ww) d');
  const keysT = windows(linear(rolled, wk), 'b h (nh nw) d (wh ww)');
  const values = windows(linear(rolled, wv), 'b h (nh nw) (wh ww) d');
  // The logits [.., w², w²] are scaled, as berniwal's are: smaller than q [.., w², head_dim] when w² < head_dim (16 < 32 in swin_t).
  const logits = tf.add(tf.mul(tf.matMul(queries, keysT), headDim ** -0.5), bias);
  const probabilities = tf.softmax(logits);
  const perWindow = tf.matMul(probabilities, values);
  const out = rearrange(perWindow, 'b h (nh nw) (wh ww) d -> b (nh wh) (nw ww) (h d)', { nh: side / ws, wh: ws, ww: ws });
  const projected = linear(out, w('attn.out.weight'), w('attn.out.bias'));
  return shift > 0 ? cyclicShift(projected, shift) : projected;
}

/**
 * windowAttention's middle as one kernel each way (WINDOW_ATTENTION, WINDOW_ATTENTION_GRAD; the
 * caller checks the backend has them): qkv [b, s, s, 3·heads·d] (q | k | v, each `(h d)`) and
 * bias [w², w²] or [windows, w², w²] → the heads' outputs [b, s, s, heads·d], each token in
 * place. The kernels gather each window's rows (the shift is only which rows), so nothing is
 * rolled, split or transposed. The backward pass keeps qkv and the probabilities; the bias's
 * gradient is the logits' gradient summed over samples and heads (and windows, for one bias).
 */
export function fusedWindowAttention(qkv: tf.Tensor, bias: tf.Tensor, attrs: { heads: number; window: number; shift: number; scale: number }): tf.Tensor {
  const n = attrs.window * attrs.window;
  const op = tf.customGrad((qkvIn, biasIn, save) => {
    const [qkv, bias] = [qkvIn as tf.Tensor, biasIn as tf.Tensor];
    const biasWindows = bias.rank === 3 ? bias.shape[0]! : 1;
    const [out, probs] = tf.engine().runKernel(WINDOW_ATTENTION, { qkv, bias: tf.reshape(bias, [biasWindows, n, n]) } as tf.NamedTensorMap, attrs) as tf.Tensor[];
    (save as tf.GradSaveFunc)([qkv, probs]);
    return {
      value: out,
      gradFunc: (dy, [qkv, probs]) => {
        const [dQkv, dLogits] = tf.engine().runKernel(WINDOW_ATTENTION_GRAD, { dy, qkv, probs } as tf.NamedTensorMap, attrs) as tf.Tensor[];
        // Summed over samples and heads as a product (wasm's Sum over leading axes transposes first): [windows, n, n].
        const [b, h, windows] = dLogits.shape;
        const perWindow = tf.reshape(tf.matMul(tf.ones([1, b! * h!]), tf.reshape(dLogits, [b! * h!, -1])), [windows!, n, n]);
        return [dQkv, tf.reshape(biasWindows === 1 ? tf.sum(perWindow, 0) : perWindow, bias.shape)];
      },
    };
  }) as (qkv: tf.Tensor, bias: tf.Tensor) => tf.Tensor;
  return op(qkv, bias);
}
