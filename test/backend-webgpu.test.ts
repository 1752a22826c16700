/**
 * WebGPU computes a training step like the cpu backend: one step of a tiny ViT-like model gives the
 * same loss and gradients on both. Without a GPU this runs on Mesa's lavapipe (`npm run setup -- --tests` installs it).
 * The model is inlined here, with every kind of op a ViT train step uses.
 */
import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import { webgpuDriver } from '../src/backend/drivers/webgpu.js';
import { Rng } from '../src/util/rng.js';

const [BATCH, IMAGE, PATCH, CHANNELS] = [2, 8, 4, 3];
const [DIM, HEADS, DIM_HEAD, MLP, CLASSES] = [16, 2, 8, 32, 10];
const TOKENS = (IMAGE / PATCH) ** 2;
const TOLERANCE = 1e-4;

const SHAPES: Record<string, number[]> = {
  patch_w: [PATCH * PATCH * CHANNELS, DIM], patch_b: [DIM],
  ln1_g: [DIM], ln1_b: [DIM],
  qkv_w: [DIM, 3 * HEADS * DIM_HEAD], out_w: [HEADS * DIM_HEAD, DIM], out_b: [DIM],
  ln2_g: [DIM], ln2_b: [DIM],
  mlp1_w: [DIM, MLP], mlp1_b: [MLP], mlp2_w: [MLP, DIM], mlp2_b: [DIM],
  head_w: [DIM, CLASSES], head_b: [CLASSES],
};

/** Fixed inputs and weights as plain arrays, so that each backend builds identical tensors. */
function fixedData() {
  const rng = new Rng(1);
  const fill = (shape: number[], scale: number) =>
    Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.uniform(-scale, scale));
  return {
    images: fill([BATCH, IMAGE, IMAGE, CHANNELS], 1),
    labels: Int32Array.from({ length: BATCH }, () => rng.int(CLASSES)),
    weights: Object.fromEntries(Object.entries(SHAPES).map(([name, shape]) => [name, fill(shape, 0.5)])),
  };
}

type Params = Record<string, tf.Variable>;

function linear(x: tf.Tensor, w: tf.Tensor, b?: tf.Tensor): tf.Tensor {
  const [inDim, outDim] = w.shape as [number, number];
  const y = tf.matMul(x.reshape([-1, inDim]), w).reshape([...x.shape.slice(0, -1), outDim]);
  return b ? y.add(b) : y;
}

function layerNorm(x: tf.Tensor, g: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return x.sub(mean).div(variance.add(1e-5).sqrt()).mul(g).add(b);
}

const gelu = (x: tf.Tensor) => x.mul(0.5).mul(tf.erf(x.div(Math.SQRT2)).add(1));

function attention(x: tf.Tensor, p: Params): tf.Tensor {
  // [b, n, 3·h·d] → three [b, h, n, d]
  const qkv = linear(x, p.qkv_w).reshape([BATCH, TOKENS, 3, HEADS, DIM_HEAD]);
  const [q, k, v] = tf.unstack(qkv, 2).map((t) => t.transpose([0, 2, 1, 3]));
  const weights = tf.softmax(tf.matMul(q, k, false, true).mul(DIM_HEAD ** -0.5));
  const out = tf.matMul(weights, v).transpose([0, 2, 1, 3]).reshape([BATCH, TOKENS, HEADS * DIM_HEAD]);
  return linear(out, p.out_w, p.out_b);
}

function loss(images: tf.Tensor, labels: tf.Tensor, p: Params): tf.Scalar {
  const side = IMAGE / PATCH;
  // b (h p1) (w p2) c → b (h w) (p1 p2 c)
  const patches = images
    .reshape([BATCH, side, PATCH, side, PATCH, CHANNELS])
    .transpose([0, 1, 3, 2, 4, 5])
    .reshape([BATCH, TOKENS, PATCH * PATCH * CHANNELS]);
  let x = linear(patches, p.patch_w, p.patch_b);
  x = x.add(attention(layerNorm(x, p.ln1_g, p.ln1_b), p));
  x = x.add(linear(gelu(linear(layerNorm(x, p.ln2_g, p.ln2_b), p.mlp1_w, p.mlp1_b)), p.mlp2_w, p.mlp2_b));
  const logits = linear(x.mean(1), p.head_w, p.head_b);
  return tf.losses.softmaxCrossEntropy(tf.oneHot(labels, CLASSES), logits) as tf.Scalar;
}

/** Loss and every parameter's gradient, read back from the current backend. */
async function trainStepResults(): Promise<{ loss: number; grads: Record<string, Float32Array> }> {
  const data = fixedData();
  const params: Params = Object.fromEntries(
    Object.entries(SHAPES).map(([name, shape]) => [name, tf.variable(tf.tensor(data.weights[name], shape), true, name)]),
  );
  const images = tf.tensor4d(data.images, [BATCH, IMAGE, IMAGE, CHANNELS]);
  const labels = tf.tensor1d(data.labels, 'int32');
  const { value, grads } = tf.variableGrads(() => loss(images, labels, params), Object.values(params));
  // Asynchronous reads only: webgpu in Node cannot read synchronously (it needs OffscreenCanvas).
  const result = {
    loss: (await value.data())[0],
    grads: Object.fromEntries(
      await Promise.all(Object.keys(SHAPES).map(async (name) => [name, (await grads[name].data()) as Float32Array])),
    ),
  };
  tf.dispose([value, images, labels, ...Object.values(grads), ...Object.values(params)]);
  return result;
}

/** ‖a − b‖ / ‖b‖: one number per tensor, immune to single near-zero entries. */
function relativeError(a: Float32Array, b: Float32Array): number {
  let diff = 0, norm = 0;
  for (let i = 0; i < a.length; i++) {
    diff += (a[i] - b[i]) ** 2;
    norm += b[i] ** 2;
  }
  return Math.sqrt(diff / norm);
}

const probe = await webgpuDriver.probe();
// CI sets VIT_REQUIRE_WEBGPU=1, so that a missing adapter fails this test instead of skipping it.
const skip = !probe.available && !process.env.VIT_REQUIRE_WEBGPU && `no WebGPU: ${probe.reason}`;

test(
  'one training step on webgpu gives the loss and gradients of the cpu backend',
  { skip },
  async (t) => {
    const cpu = await useBackend('cpu');
    const expected = await trainStepResults();
    const webgpu = await useBackend('webgpu');
    try {
      // CI's log shows which adapter the comparison really ran on.
      t.diagnostic(`ran on ${cpu.name} and ${webgpu.name} (${webgpu.details.adapter}, software=${webgpu.details.software})`);
      assert.equal(tf.getBackend(), 'webgpu');
      const actual = await trainStepResults();
      assert.ok(Number.isFinite(expected.loss) && expected.loss > 0);
      assert.ok(Math.abs(actual.loss - expected.loss) <= TOLERANCE * expected.loss, `loss ${actual.loss} vs ${expected.loss}`);
      for (const name of Object.keys(SHAPES)) {
        const error = relativeError(actual.grads[name], expected.grads[name]);
        assert.ok(error <= TOLERANCE, `gradient of ${name}: relative error ${error}`);
      }
    } finally {
      webgpu.dispose();
    }
  },
);

test(
  'addN sums more tensors on webgpu than one shader can bind, and frees its partial sums',
  { skip },
  async () => {
    const webgpu = await useBackend('webgpu'); // again: the first test disposed its webgpu backend
    try {
      const rng = new Rng(2);
      const terms = Array.from({ length: 31 }, () => Float32Array.from({ length: 5 }, () => rng.uniform(-1, 1)));
      const expected = terms.reduce((acc, t) => acc.map((a, i) => a + t[i]), new Array<number>(5).fill(0));
      const tensors = terms.map((t) => tf.tensor1d(t));
      const dataIdsBefore = tf.engine().backend.numDataIds();
      const sum = tf.addN(tensors);
      const actual = await sum.data();
      sum.dispose();
      assert.equal(tf.engine().backend.numDataIds(), dataIdsBefore);
      tf.dispose(tensors);
      expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) < 1e-5, `element ${i}: ${actual[i]} vs ${e}`));
    } finally {
      webgpu.dispose();
    }
  },
);
