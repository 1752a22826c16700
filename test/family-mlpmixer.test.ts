import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { ConfigSchema } from '../src/config/schema.js';
import type { MlpMixerConfig } from '../src/families/mlpmixer/config.js';
import { mlpMixerForward, tokenMixing } from '../src/families/mlpmixer/model.js';
import { mlpMixerPytorch } from '../src/families/mlpmixer/pytorch.js';
import { seededDropout } from '../src/layers/dropout.js';
import { countParams, forwardFlops, initParams } from '../src/model/index.js';
import { Rng } from '../src/util/rng.js';

/**
 * MLP-Mixer (src/families/mlpmixer): the preset's FLOPs counted by hand and its parameter count
 * PyTorch's; token mixing against the plain sums of PyTorch's Conv1d(kernel 1) over the patch
 * axis; dropout seeded, off in evaluation. (Export, import, ONNX and three SGD
 * steps against PyTorch: test/families.test.ts and test/pytorch-import.test.ts.)
 */
before(async () => {
  await tf.setBackend('cpu');
});

const preset = () => loadConfig('configs/k/mlpmixer.json', []).model as MlpMixerConfig;

test('mlpmixer: configs/k/mlpmixer.json is train_cifar10.py --net mlpmixer: MLPMixer(image_size=32, channels=3, patch_size=4, dim=512, depth=6, num_classes=10)', () => {
  const cfg = preset();
  assert.deepEqual(mlpMixerPytorch.constructorArgs!(cfg).args, {
    image_size: 32, channels: 3, patch_size: 4, dim: 512, depth: 6, num_classes: 10, expansion_factor: 4, expansion_factor_token: 0.5, dropout: 0,
  });
});

test('mlpmixer: forwardFlops of configs/k/mlpmixer.json counts the patch embedding, both mixings of every block and the head by hand', () => {
  const patches = (32 / 4) ** 2; // 64 tokens
  const embedding = patches * (4 * 4 * 3) * 512; // Linear 48 → 512 per patch
  const tokenMixing = 512 * (patches * 256 + 256 * patches); // per feature column: 64 → int(64·4) = 256 → 64
  const channelMixing = patches * (512 * 256 + 256 * 512); // per patch: 512 → int(512·0.5) = 256 → 512
  const head = 512 * 10;
  assert.equal(forwardFlops(preset()), 2 * (embedding + 6 * (tokenMixing + channelMixing) + head));
  assert.equal(forwardFlops(preset()), 405_809_152);
});

test("mlpmixer: the preset's parameter count is PyTorch's (1,819,530, counted with torch 1.13 on bench/reference_mlpmixer.py)", () => {
  assert.equal(countParams(preset()), 1_819_530);
});

test("mlpmixer: token mixing is PyTorch's Conv1d(kernel 1) over the patch axis, GELU, Conv1d, computed by plain sums", () => {
  const [b, n, d, hidden] = [2, 4, 3, 5];
  const rng = new Rng(3);
  const values = (count: number) => Array.from({ length: count }, () => rng.uniform(-1, 1));
  const x = values(b * n * d);
  const w1 = values(n * hidden); // ours [1, n, hidden]
  const b1 = values(hidden);
  const w2 = values(hidden * n); // ours [1, hidden, n]
  const b2 = values(n);
  const weights: Record<string, tf.Variable> = {
    'token_mix.fc1.weight': tf.variable(tf.tensor3d(w1, [1, n, hidden])),
    'token_mix.fc1.bias': tf.variable(tf.tensor1d(b1)),
    'token_mix.fc2.weight': tf.variable(tf.tensor3d(w2, [1, hidden, n])),
    'token_mix.fc2.bias': tf.variable(tf.tensor1d(b2)),
  };
  const actual = tf.tidy(() => tokenMixing(tf.tensor3d(x, [b, n, d]), (name) => weights[name], 0, seededDropout({ training: false })).arraySync()) as number[][][];
  const gelu = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
  for (let s = 0; s < b; s++) {
    for (let f = 0; f < d; f++) {
      // Conv1d on [b, n, d]: n input channels, d positions; each position f mixed alone.
      const h = Array.from({ length: hidden }, (_, o) => gelu(b1[o] + Array.from({ length: n }, (_, i) => w1[i * hidden + o] * x[(s * n + i) * d + f]).reduce((a, c) => a + c)));
      for (let o = 0; o < n; o++) {
        const expected = b2[o] + h.reduce((a, v, j) => a + w2[j * n + o] * v, 0);
        assert.ok(Math.abs(actual[s][o][f] - expected) < 1e-5, `[${s}, ${o}, ${f}]: ${actual[s][o][f]} vs ${expected}`);
      }
    }
  }
  tf.dispose(Object.values(weights));
});

test('mlpmixer: dropout is seeded (the same seed, the same pass) and is off in evaluation', () => {
  const tiny = { name: 'mlpmixer', dim: 8, depth: 1, patch_size: 8, expansion_factor: 1, expansion_factor_token: 1 };
  const run = (model: Record<string, unknown>, opts: { training: boolean; seed?: number }) => {
    const cfg = ConfigSchema.parse({ model }).model as MlpMixerConfig;
    const params = initParams(cfg, 0);
    const images = tf.tidy(() => tf.randomUniform([2, 32, 32, 3], -1, 1, 'float32', 5) as tf.Tensor4D);
    const out = tf.tidy(() => Array.from(mlpMixerForward(params, cfg, images, opts).dataSync()));
    tf.dispose([images, ...Object.values(params)]);
    return out;
  };
  const model = { ...tiny, dropout: 0.3 };
  assert.deepEqual(run(model, { training: false }), run({ ...tiny, dropout: 0 }, { training: false }));
  assert.deepEqual(run(model, { training: true, seed: 1 }), run(model, { training: true, seed: 1 }));
  assert.notDeepEqual(run(model, { training: true, seed: 1 }), run(model, { training: true, seed: 2 }));
  assert.notDeepEqual(run(model, { training: true, seed: 1 }), run(model, { training: false }));
  assert.deepEqual(run({ ...tiny, dropout: 0 }, { training: true, seed: 1 }), run({ ...tiny, dropout: 0 }, { training: false }));
  assert.throws(() => run(model, { training: true }), /seed/);
});

test('mlpmixer: a patch size that does not divide the image, or an MLP with no hidden unit, is refused', () => {
  assert.throws(() => ConfigSchema.parse({ model: { name: 'mlpmixer', patch_size: 5 } }), /image_size must be divisible by patch_size/);
  assert.throws(() => ConfigSchema.parse({ model: { name: 'mlpmixer', dim: 4, expansion_factor_token: 0.1 } }), /channel-mixing MLP would have no hidden unit/);
  assert.throws(() => ConfigSchema.parse({ model: { name: 'mlpmixer', channels: 1 } }));
});

/** erf by its Taylor series, exact to far below 1e-5 for the |v| < 4 here. */
function erf(v: number): number {
  let sum = 0;
  let term = v;
  for (let k = 0; k < 60; k++) {
    sum += term / (2 * k + 1);
    term *= (-v * v) / (k + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}
