import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import type { BackendName } from '../src/config/schema.js';
import { type BatchNormActivation, batchNorm } from '../src/layers/batch-norm.js';
import { conv2d, depthwiseConv2d, samePadding } from '../src/layers/conv.js';
import { nativeOrSkip } from './helpers/native.js';

/**
 * The native kernels of the convolutional families against tfjs's own kernels on the cpu
 * backend, values and gradients: the depthwise convolution (tfjs's DepthwiseConv2dNative and its
 * two backprops), BatchNorm in training mode with its fused activations (tfjs's moments and
 * FusedBatchNorm, differentiated by tfjs), and a conv with a bias (im2col, the product, the bias);
 * odd shapes, channels that fill no whole vector, and sizes above the threading thresholds. Then
 * one training step in processes with one and with two threads gives the same bytes.
 */
before(async () => {
  await useBackend('wasm');
});

type Result = { value: Float32Array; grads: Float32Array[]; extra: Float32Array[]; shape: number[] };

/** f's value (and `extras`, tensors f reports on the side) and the gradients of Σ f·dy by its inputs, on `backend`. */
async function valueAndGrads(
  backend: BackendName,
  f: (extras: tf.Tensor[], ...xs: tf.Tensor[]) => tf.Tensor,
  inputs: number[][],
  data: Float32Array[],
): Promise<Result> {
  await useBackend(backend);
  const result = tf.tidy(() => {
    const xs = inputs.map((shape, i) => tf.tensor(data[i], shape));
    const extras: tf.Tensor[] = [];
    const y = f(extras, ...xs);
    const extra = extras.map((t) => t.dataSync() as Float32Array);
    const dy = tf.sin(tf.range(0, tf.util.sizeFromShape(y.shape)).reshape(y.shape));
    const grads = tf.grads((...a: tf.Tensor[]) => tf.sum(tf.mul(f([], ...a), dy)))(xs);
    return { value: y.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array), extra, shape: y.shape };
  });
  await useBackend('wasm');
  return result;
}

function close(actual: Float32Array, expected: Float32Array, what: string, tolerance = 1e-4): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= tolerance * (1 + Math.abs(e)), `${what}[${i}] ${actual[i]} vs ${e}`));
}

function noise(n: number, seed: number, scale = 2): Float32Array {
  return Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + seed * 78.233) * scale);
}

const DEPTHWISE = [
  { x: [2, 9, 9, 16], k: 8, stride: 1 }, // ConvMixer's even kernel: 'same' pads 3 above, 4 below
  { x: [3, 7, 5, 19], k: 3, stride: 1 }, // a non-square image; 3 channels past the last whole vector
  { x: [1, 6, 6, 5], k: 5, stride: 1 }, // fewer channels than one vector
  { x: [2, 4, 4, 32], k: 1, stride: 1 },
  { x: [2, 5, 6, 16], k: 11, stride: 1 }, // larger than the unrolled kernel sizes, and than the image
  { x: [0, 4, 4, 16], k: 3, stride: 1 }, // empty batch
  { x: [8, 16, 16, 48], k: 9, stride: 1 }, // above the threading thresholds: many row blocks and image slices
  { x: [2, 8, 8, 32], k: 3, stride: 2 }, // MobileViT's MV2 downsampling, padding 1
  { x: [3, 7, 9, 19], k: 3, stride: 2 }, // odd sides: the last row and column read padding; a channel tail
  { x: [2, 10, 11, 16], k: 5, stride: 3 }, // a stride below the kernel size, sides not a multiple of it
  { x: [1, 6, 6, 8], k: 2, stride: 2 }, // stride = kernel: each input pixel in one window
  { x: [8, 32, 32, 64], k: 3, stride: 2 }, // above the threading thresholds
];

for (const { x, k, stride } of DEPTHWISE) {
  test(`native depthwise conv equals tfjs's DepthwiseConv2dNative (value, dx, dW, dBias) on [${x}] k=${k}, stride ${stride}, 'same'-padded`, async (t) => {
    if (!nativeOrSkip(t)) return;
    const c = x[3];
    const pad = samePadding(k);
    const data = [noise(tf.util.sizeFromShape(x), 1), noise(k * k * c, 2, 0.5), noise(c, 3)];
    const shapes = [x, [k, k, 1, c], [c]];
    const padding: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [pad[0], pad[1]], [pad[2], pad[3]], [0, 0]];
    const reference = (_: tf.Tensor[], a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) =>
      tf.add(tf.depthwiseConv2d(a as tf.Tensor4D, tf.reshape(w, [k, k, c, 1]) as tf.Tensor4D, stride, padding), b);
    const ours = (_: tf.Tensor[], a: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => depthwiseConv2d(a as tf.Tensor4D, w, b, pad, stride);
    const expected = await valueAndGrads('cpu', reference, shapes, data);
    const actual = await valueAndGrads('wasm', ours, shapes, data);
    assert.deepEqual(actual.shape, expected.shape);
    close(actual.value, expected.value, 'value');
    ['dx', 'dW', 'dBias'].forEach((what, i) => close(actual.grads[i], expected.grads[i], what));
  });
}

/** BatchNorm in training mode in tfjs's own ops: moments over all but the channel axis, FusedBatchNorm, and the activation. */
function referenceBatchNorm(activation: BatchNormActivation) {
  return (stats: tf.Tensor[], x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) => {
    const a = activation === 'gelu_before' ? tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) : x;
    const { mean, variance } = tf.moments(a, [0]);
    stats.push(mean, variance);
    const y = tf.batchNorm(a, mean, variance, bias as tf.Tensor1D, weight as tf.Tensor1D, 1e-5);
    if (activation === 'silu_after') return tf.mul(y, tf.sigmoid(y));
    return activation === 'relu_after' ? tf.relu(y) : y;
  };
}

/** Ours, the new running statistics reported as PyTorch moves them, turned back into the batch's mean and biased variance. */
function oursBatchNorm(activation: BatchNormActivation) {
  return (stats: tf.Tensor[], x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor) => {
    const c = weight.shape[0];
    const params: Record<string, tf.Tensor> = { 'bn.weight': weight, 'bn.bias': bias, 'bn.running_mean': tf.zeros([c]), 'bn.running_var': tf.zeros([c]), 'bn.num_batches_tracked': tf.scalar(0) };
    const updates: Record<string, tf.Tensor> = {};
    const y = batchNorm(x, (name) => params[name] as tf.Variable, 'bn', activation, { training: true, bufferUpdates: updates });
    const n = x.shape[0];
    // running = 0.9 · 0 + 0.1 · statistic (the variance unbiased: × n / (n − 1)).
    stats.push(tf.div(updates['bn.running_mean'], 0.1), tf.mul(tf.div(updates['bn.running_var'], 0.1), (n - 1) / n));
    tf.dispose(Object.values(updates));
    return y;
  };
}

const NORMS = [
  { n: 7, c: 5 },
  { n: 33 * 8 * 8, c: 19 }, // 3 channels past the last whole vector
  { n: 4 * 16 * 16, c: 64 }, // above the threading threshold: many row slices
];

/** Ours on `backend` (wasm: the native kernels; cpu: the tfjs-ops path) against tfjs's ops on cpu: value, batch statistics, dx, dWeight, dBias. */
async function checkBatchNorm(activation: BatchNormActivation, n: number, c: number, backend: 'wasm' | 'cpu'): Promise<void> {
  // Channels with different means and scales, so the statistics matter.
  const x = Float32Array.from(noise(n * c, 4), (v, i) => v * (1 + (i % c) / c) + ((i % c) - c / 2) / c);
  const data = [x, noise(c, 5, 0.5).map((v) => v + 1), noise(c, 6, 0.3)];
  const shapes = [[n, c], [c], [c]];
  const expected = await valueAndGrads('cpu', referenceBatchNorm(activation), shapes, data);
  const actual = await valueAndGrads(backend, oursBatchNorm(activation), shapes, data);
  close(actual.value, expected.value, 'value');
  close(actual.extra[0], expected.extra[0], 'mean');
  close(actual.extra[1], expected.extra[1], 'variance');
  ['dx', 'dWeight', 'dBias'].forEach((what, i) => close(actual.grads[i], expected.grads[i], what, 2e-4));
}

const ACTIVATIONS = ['none', 'gelu_before', 'relu_after', 'silu_after'] as const;

for (const { n, c } of NORMS) {
  for (const activation of ACTIVATIONS) {
    test(`native BatchNorm (${activation}) equals tfjs's moments + FusedBatchNorm on [${n}, ${c}]: value, batch statistics, dx, dWeight, dBias`, async (t) => {
      if (!nativeOrSkip(t)) return;
      await checkBatchNorm(activation, n, c, 'wasm');
    });
  }
}

for (const activation of ACTIVATIONS) {
  test(`BatchNorm (${activation}) in tfjs ops, where no fused kernel is, equals tfjs's moments + FusedBatchNorm: value, statistics, gradients`, async () => {
    await checkBatchNorm(activation, NORMS[1].n, NORMS[1].c, 'cpu');
  });
}

/** Evaluation-mode BatchNorm with running statistics on `backend` (wasm: the native BATCH_NORM_APPLY; cpu: tfjs ops). */
async function evalBatchNorm(backend: BackendName, how: 'ours' | 'tfjs', activation: BatchNormActivation, n: number, c: number): Promise<Float32Array> {
  await useBackend(backend);
  return tf.tidy(() => {
    const x = tf.tensor2d(Float32Array.from(noise(n * c, 10), (v, i) => v * (1 + (i % c) / c) + (i % c) / c), [n, c]);
    const params: Record<string, tf.Tensor> = {
      'bn.weight': tf.tensor1d(noise(c, 11, 0.5).map((v) => v + 1)),
      'bn.bias': tf.tensor1d(noise(c, 12, 0.3)),
      'bn.running_mean': tf.tensor1d(noise(c, 13, 0.4)),
      'bn.running_var': tf.tensor1d(noise(c, 14, 0.4).map((v) => v + 1)),
    };
    if (how === 'ours') return batchNorm(x, (name) => params[name] as tf.Variable, 'bn', activation, { training: false }).dataSync() as Float32Array;
    const a = activation === 'gelu_before' ? tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))) : x;
    const y = tf.batchNorm(a, params['bn.running_mean'], params['bn.running_var'], params['bn.bias'] as tf.Tensor1D, params['bn.weight'] as tf.Tensor1D, 1e-5);
    const out = activation === 'silu_after' ? tf.mul(y, tf.sigmoid(y)) : activation === 'relu_after' ? tf.relu(y) : y;
    return out.dataSync() as Float32Array;
  });
}

for (const activation of ACTIVATIONS) {
  test(`evaluation's BatchNorm (${activation}), native and in tfjs ops, equals tfjs's FusedBatchNorm with the running statistics`, async (t) => {
    const withNative = nativeOrSkip(t);
    for (const { n, c } of NORMS) {
      const expected = await evalBatchNorm('cpu', 'tfjs', activation, n, c);
      close(await evalBatchNorm('cpu', 'ours', activation, n, c), expected, `tfjs ops [${n}, ${c}]`);
      if (withNative) close(await evalBatchNorm('wasm', 'ours', activation, n, c), expected, `native [${n}, ${c}]`);
    }
  });
}

test("a conv with a bias (ConvMixer's patch embedding) equals tfjs's Conv2D + bias: value, dx, dW, dBias", async (t) => {
  if (!nativeOrSkip(t)) return;
  const x = [3, 12, 12, 3];
  const w = [2, 2, 3, 40];
  const data = [noise(tf.util.sizeFromShape(x), 7), noise(tf.util.sizeFromShape(w), 8), noise(40, 9)];
  const reference = (_: tf.Tensor[], a: tf.Tensor, f: tf.Tensor, b: tf.Tensor) => tf.add(tf.conv2d(a as tf.Tensor4D, f as tf.Tensor4D, 2, 'valid'), b);
  const ours = (_: tf.Tensor[], a: tf.Tensor, f: tf.Tensor, b: tf.Tensor) => conv2d(a as tf.Tensor4D, f, 2, 0, false, b);
  const expected = await valueAndGrads('cpu', reference, [x, w, [40]], data);
  const actual = await valueAndGrads('wasm', ours, [x, w, [40]], data);
  close(actual.value, expected.value, 'value');
  ['dx', 'dW', 'dBias'].forEach((what, i) => close(actual.grads[i], expected.grads[i], what));
});

test('one training step of a ConvMixer and a ResNet gives the same weight bytes on one thread and on two', async (t) => {
  if (!nativeOrSkip(t)) return;
  const run = (threads: string) => {
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/convnet-step-child.ts'], {
      encoding: 'utf8',
      env: { ...process.env, VIT_NUM_THREADS: threads },
      maxBuffer: 1 << 28,
    });
    assert.equal(child.status, 0, child.stderr);
    return child.stdout.trim().split('\n').pop()!;
  };
  const one = run('1');
  const two = run('2');
  assert.match(one, /^convmixer [0-9a-f]{64} resnet [0-9a-f]{64}$/);
  assert.equal(two, one);
});
