import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import { fusedWindowAttention, positionBias, windowAttention } from '../src/families/swin/model.js';
import { displacement, relativePositionGather, shiftedWindowMask } from '../src/families/swin/windows.js';
import { nativeOrSkip } from './helpers/native.js';

/**
 * The native window attention kernels (Swin: each (sample, head, window) gathers its rows, the
 * cyclic shift being only which rows) against Swin's attention written in tfjs's own ops (the cpu
 * backend, which has no fused kernel: roll, window partition, products, softmax, roll back) and
 * differentiated by tfjs: values, and the gradients with respect to the input, the qkv and output
 * weights and the position-bias table (through the masks of a shifted block).
 */

const CASES = [
  { what: 'regular, 2×2 windows of 4×4', b: 3, side: 8, w: 4, shifted: false, relative: true, heads: 2, d: 8 },
  { what: 'shifted, 2×2 windows of 4×4', b: 3, side: 8, w: 4, shifted: true, relative: true, heads: 2, d: 8 },
  { what: 'shifted, one 4×4 window (both masks on it), swin_t\'s later stages', b: 5, side: 4, w: 4, shifted: true, relative: true, heads: 3, d: 32 },
  { what: 'shifted, 3×3 windows of 3×3 (shift 1), odd sizes', b: 2, side: 9, w: 3, shifted: true, relative: true, heads: 3, d: 5 },
  { what: 'shifted, 4×4 windows of 2×2, absolute position bias', b: 2, side: 8, w: 2, shifted: true, relative: false, heads: 1, d: 4 },
];

/** The block's attention output and its gradients (x, weights, bias table) for a fixed upstream gradient. */
function attentionAndGrads(c: (typeof CASES)[number]): Record<string, Float32Array> {
  return tf.tidy(() => {
    const dim = 6;
    const inner = c.heads * c.d;
    const tableSide = c.relative ? 2 * c.w - 1 : c.w * c.w;
    const x = tf.randomNormal([c.b, c.side, c.side, dim], 0, 1, 'float32', 1);
    const inputs = {
      x,
      qkv: tf.randomNormal([dim, 3 * inner], 0, 0.5, 'float32', 2),
      out: tf.randomNormal([inner, dim], 0, 0.5, 'float32', 3),
      outBias: tf.randomNormal([dim], 0, 0.5, 'float32', 4),
      table: tf.randomNormal([tableSide, tableSide], 0, 1, 'float32', 5),
    };
    const dy = tf.randomNormal([c.b, c.side, c.side, dim], 0, 1, 'float32', 6);
    const names = Object.keys(inputs) as (keyof typeof inputs)[];
    const f = (...values: tf.Tensor[]) => {
      const v = Object.fromEntries(names.map((n, i) => [n, values[i]])) as typeof inputs;
      const weights: Record<string, tf.Tensor> = { 'attn.qkv.weight': v.qkv, 'attn.out.weight': v.out, 'attn.out.bias': v.outBias };
      let bias = positionBias(v.table, c.relative ? relativePositionGather(c.w) : null, c.w);
      if (c.shifted) bias = tf.add(bias, tf.tensor3d(shiftedWindowMask(c.w, c.side), [(c.side / c.w) ** 2, c.w * c.w, c.w * c.w]));
      const settings = { heads: c.heads, headDim: c.d, windowSize: c.w, shift: c.shifted ? displacement(c.w) : 0 };
      return windowAttention(v.x, (name) => weights[name], settings, bias);
    };
    const value = f(...names.map((n) => inputs[n]));
    const grads = tf.grads((...values: tf.Tensor[]) => tf.sum(tf.mul(f(...values), dy)))(names.map((n) => inputs[n]));
    return { value: value.dataSync() as Float32Array, ...Object.fromEntries(names.map((n, i) => [`d${n}`, grads[i].dataSync() as Float32Array])) };
  }) as unknown as Record<string, Float32Array>;
}

for (const c of CASES) {
  test(`fused window attention (${c.what}) and its gradients equal tfjs's ops`, async (t) => {
    if (!nativeOrSkip(t)) return;
    await useBackend('cpu');
    const expected = attentionAndGrads(c);
    await useBackend('wasm');
    const actual = attentionAndGrads(c);
    for (const [what, e] of Object.entries(expected)) {
      assert.equal(actual[what].length, e.length, what);
      let worst = 0;
      e.forEach((v, i) => (worst = Math.max(worst, Math.abs(actual[what][i] - v) / (1 + Math.abs(v)))));
      assert.ok(worst <= 1e-4, `${what}: max relative |Δ| ${worst}`);
    }
  });
}

test('fused window attention leaves no tensors behind, forward and backward', async (t) => {
  if (!nativeOrSkip(t)) return;
  await useBackend('wasm');
  const qkv = tf.randomNormal([2, 8, 8, 3 * 2 * 4]);
  const bias = tf.randomNormal([4, 16, 16]);
  const before = tf.memory().numTensors;
  const attrs = { heads: 2, window: 4, shift: 2, scale: 0.5 };
  tf.dispose(tf.tidy(() => tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(fusedWindowAttention(a, b, attrs)))([qkv, bias])));
  assert.equal(tf.memory().numTensors, before);
  tf.dispose([qkv, bias]);
});
