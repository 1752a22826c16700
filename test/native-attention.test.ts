import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { nativeOrSkip } from './helpers/native.js';
import { useBackend } from '../src/backend/index.js';
import { fusedSelfAttention } from '../src/layers/attention.js';
import { ConfigSchema } from '../src/config/schema.js';
import { type ModelConfig, initParams, modelForward } from '../src/model/index.js';
import { CASES as FAMILY_CASES } from './helpers/family-cases.js';
import { vitConfig } from './helpers/model-configs.js';

/**
 * The native attention kernels (every (sample, head) in parallel, strided products on qkv in
 * place) against attention written in tfjs's own ops and differentiated by tfjs: values and the
 * gradient with respect to qkv, on odd shapes, one token, and an empty batch.
 */
before(async () => {
  await useBackend('wasm');
});

/** softmax(scale · q·kᵀ)·v per head, in tfjs ops, qkv [b, n, 3·h·d] → [b, n, h·d]. */
function reference(qkv: tf.Tensor, heads: number, scale: number): tf.Tensor {
  const [b, n, width] = qkv.shape;
  const d = width / (3 * heads);
  const [q, k, v] = tf.split(qkv, 3, 2).map((t) => tf.transpose(tf.reshape(t, [b, n, heads, d]), [0, 2, 1, 3]));
  const probs = tf.softmax(tf.mul(tf.matMul(q, k, false, true), scale));
  return tf.reshape(tf.transpose(tf.matMul(probs, v), [0, 2, 1, 3]), [b, n, heads * d]);
}

function close(actual: tf.Tensor, expected: tf.Tensor, what: string): void {
  assert.deepEqual(actual.shape, expected.shape, what);
  const a = actual.dataSync();
  expected.dataSync().forEach((e, i) => assert.ok(Math.abs(a[i] - e) <= 1e-4 * (1 + Math.abs(e)), `${what}[${i}] ${a[i]} vs ${e}`));
}

const CASES: { b: number; n: number; heads: number; d: number }[] = [
  { b: 3, n: 7, heads: 2, d: 5 }, // odd sizes, 6 tasks over the cores
  { b: 4, n: 65, heads: 4, d: 32 }, // bench-small's head shape
  { b: 2, n: 17, heads: 3, d: 64 }, // the default config's dim_head
  { b: 2, n: 1, heads: 1, d: 3 }, // one token: probabilities are all 1
];

for (const { b, n, heads, d } of CASES) {
  test(`fused attention and its gradient equal tfjs's on b=${b} n=${n} heads=${heads} d=${d}`, (t) => {
    if (!nativeOrSkip(t)) return;
    tf.tidy(() => {
      const scale = d ** -0.5;
      const qkv = tf.mul(tf.randomNormal([b, n, 3 * heads * d], 0, 1, 'float32', 5), 2);
      const dy = tf.randomNormal([b, n, heads * d], 0, 1, 'float32', 6);
      close(fusedSelfAttention(qkv, heads, scale), reference(qkv, heads, scale), 'value');
      const grad = (f: typeof reference) => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x, heads, scale), dy)))(qkv);
      close(grad(fusedSelfAttention), grad(reference), 'dqkv');
    });
  });
}

test('fused attention with the diagonal masked is softmax over the other tokens (locality self-attention), and so is its gradient', (t) => {
  if (!nativeOrSkip(t)) return;
  tf.tidy(() => {
    const [b, n, heads, d] = [3, 17, 2, 8];
    const qkv = tf.mul(tf.randomNormal([b, n, 3 * heads * d], 0, 1, 'float32', 7), 2);
    const dy = tf.randomNormal([b, n, heads * d], 0, 1, 'float32', 8);
    const masked = (x: tf.Tensor) => {
      const [q, k, v] = tf.split(x, 3, 2).map((part) => tf.transpose(tf.reshape(part, [b, n, heads, d]), [0, 2, 1, 3]));
      const eye = tf.eye(n);
      const dots = tf.add(tf.mul(tf.matMul(q, k, false, true), tf.sub(1, eye)), tf.mul(eye, -3.4028234663852886e38));
      return tf.reshape(tf.transpose(tf.matMul(tf.softmax(dots), v), [0, 2, 1, 3]), [b, n, heads * d]);
    };
    const fused = (x: tf.Tensor) => fusedSelfAttention(x, heads, 1, true);
    close(fused(qkv), masked(qkv), 'value');
    const grad = (f: (x: tf.Tensor) => tf.Tensor) => tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x), dy)))(qkv);
    close(grad(fused), grad(masked), 'dqkv');
    // One token: PyTorch's masked_fill(−max) then softmax gives it all the weight, as the unmasked kernel.
    const one = tf.randomNormal([2, 1, 12], 0, 1, 'float32', 9);
    close(fusedSelfAttention(one, 2, 1, true), fusedSelfAttention(one, 2, 1), 'one token');
  });
});

test('fused attention of an empty batch is empty, and so is its gradient (wasm\'s own Softmax fails on it)', (t) => {
  if (!nativeOrSkip(t)) return;
  tf.tidy(() => {
    const qkv = tf.zeros([0, 5, 24]);
    assert.deepEqual(fusedSelfAttention(qkv, 2, 0.5).shape, [0, 5, 8]);
    assert.deepEqual(tf.grad((x: tf.Tensor) => tf.sum(fusedSelfAttention(x, 2, 0.5)))(qkv).shape, [0, 5, 24]);
  });
});

test('fused attention leaves no tensors behind', (t) => {
  if (!nativeOrSkip(t)) return;
  const qkv = tf.randomNormal([2, 5, 12]);
  const before = tf.memory().numTensors;
  tf.dispose(tf.tidy(() => tf.grad((x: tf.Tensor) => tf.sum(fusedSelfAttention(x, 2, 0.5)))(qkv)));
  assert.equal(tf.memory().numTensors, before);
  qkv.dispose();
});

/**
 * A training pass's loss and every parameter's gradient for `model` on the cpu backend (tfjs's
 * own kernels) and on wasm with the native ones: equal within float32 rounding. Returns wasm's gradients.
 */
async function assertWasmMatchesCpu(model: ModelConfig): Promise<Record<string, tf.TypedArray>> {
  const images = Float32Array.from({ length: 3 * 32 * 32 * 3 }, (_, i) => Math.sin(i * 0.37));
  const lossAndGrads = () => {
    const params = initParams(model, 0);
    const result = tf.tidy(() => {
      const x = tf.tensor4d(images, [3, 32, 32, 3]);
      const loss = () => tf.sum(tf.mul(modelForward(params, model, x, { training: true, seed: 1 }), tf.linspace(-1, 1, 30).reshape([3, 10]))) as tf.Scalar;
      const { value, grads } = tf.variableGrads(loss, Object.values(params));
      return [value.dataSync()[0], Object.fromEntries(Object.entries(params).map(([name, p]) => [name, grads[p.name].dataSync()]))] as const;
    });
    tf.dispose(Object.values(params));
    return result;
  };
  await useBackend('cpu');
  const [cpuLoss, cpuGrads] = lossAndGrads();
  await useBackend('wasm');
  const [wasmLoss, wasmGrads] = lossAndGrads();
  assert.ok(Math.abs(cpuLoss - wasmLoss) <= 1e-4 * (1 + Math.abs(cpuLoss)), `loss cpu ${cpuLoss}, wasm ${wasmLoss}`);
  assert.deepEqual(Object.keys(wasmGrads).sort(), Object.keys(cpuGrads).sort());
  for (const [name, g] of Object.entries(cpuGrads)) {
    g.forEach((e, i) => assert.ok(Math.abs(wasmGrads[name][i] - e) <= 1e-3 * (1 + Math.abs(e)), `${name}[${i}] wasm ${wasmGrads[name][i]} vs cpu ${e}`));
  }
  return wasmGrads;
}

test('a model with fused attention and LayerNorm gives the loss and gradients of the cpu backend', async (t) => {
  if (!nativeOrSkip(t)) return;
  await assertWasmMatchesCpu(vitConfig({ patch_size: 8, dim: 32, depth: 2, heads: 2, dim_head: 16, mlp_dim: 64 }));
});

test("vit_small's locality self-attention on the fused kernel gives the loss and gradients (the temperature's too) of the cpu backend", async (t) => {
  if (!nativeOrSkip(t)) return;
  const grads = await assertWasmMatchesCpu(ConfigSchema.parse({ model: { ...FAMILY_CASES.vit_small, dropout: 0, emb_dropout: 0 } }).model);
  assert.ok('blocks.0.attn.temperature' in grads);
});
