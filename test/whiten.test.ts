import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';
import { type Config, ConfigSchema } from '../src/config/schema.js';
import { CIFAR10_NORMALIZATION } from '../src/data/normalize.js';
import type { CctConfig } from '../src/families/cct/config.js';
import type { Split } from '../src/data/cifar10.js';
import { type Cifar10, loadCifar10 } from '../src/data/cifar10.js';
import { selectSplits } from '../src/data/splits.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { conv2d } from '../src/layers/conv.js';
import { initParams } from '../src/model/index.js';
import { PatchMoments, whiteningFilters } from '../src/families/cct/whiten.js';
import { readMetrics } from '../src/train/metrics-csv.js';
import { createRunDir } from '../src/train/run-dir.js';
import { type TrainOptions, train } from '../src/train/trainer.js';
import { WHITENED, whitenTokenizer } from '../src/families/cct/whiten.js';
import { symmetricEigen } from '../src/util/eigen.js';
import { Rng } from '../src/util/rng.js';

before(async () => {
  await tf.setBackend('cpu');
});

test('symmetricEigen: A·v = λ·v, orthonormal vectors, eigenvalues descending', () => {
  const n = 12;
  const rng = new Rng(2);
  const b = Array.from({ length: n * n }, () => rng.uniform(-1, 1));
  const a = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) a[i * n + j] += b[i * n + k] * b[j * n + k];
  const { values, vectors } = symmetricEigen(a, n);
  for (let c = 0; c < n; c++) {
    if (c > 0) assert.ok(values[c] <= values[c - 1]);
    for (let i = 0; i < n; i++) {
      let av = 0;
      for (let k = 0; k < n; k++) av += a[i * n + k] * vectors[k * n + c];
      assert.ok(Math.abs(av - values[c] * vectors[i * n + c]) < 1e-10, `column ${c}`);
    }
    for (let d = 0; d < n; d++) {
      let dot = 0;
      for (let k = 0; k < n; k++) dot += vectors[k * n + c] * vectors[k * n + d];
      assert.ok(Math.abs(dot - (c === d ? 1 : 0)) < 1e-12);
    }
  }
  // A case by hand: [[2, 1], [1, 2]] has 3 on (1, 1)/√2 and 1 on (1, −1)/√2.
  const two = symmetricEigen([2, 1, 1, 2], 2);
  assert.deepEqual(Array.from(two.values, (v) => +v.toFixed(12)), [3, 1]);
  assert.ok(Math.abs(Math.abs(two.vectors[0]) - Math.SQRT1_2) < 1e-12 && Math.abs(two.vectors[0] - two.vectors[2]) < 1e-12);
});

/**
 * `count` 32×32 RGB float images with strong correlations, as natural images have: smooth waves
 * shared by the channels plus a little independent noise per value.
 */
function correlatedImages(count: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const images = new Float32Array(count * 3072);
  for (let n = 0; n < count; n++) {
    const [fy, fx, phase, tint] = [rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6), rng.uniform(0, 6.3), rng.uniform(0.5, 1.5)];
    for (let y = 0; y < 32; y++) {
      for (let x = 0; x < 32; x++) {
        const wave = Math.sin(fy * y + fx * x + phase);
        for (let c = 0; c < 3; c++) images[n * 3072 + (y * 32 + x) * 3 + c] = wave * (c === 2 ? tint : 1) + 0.1 * rng.uniform(-1, 1);
      }
    }
  }
  return images;
}

/** E[o·oᵀ] of the conv outputs' channels over every output position: [channels, channels]. */
function outputMoments(images: Float32Array, count: number, weight: Float32Array, kernel: number, outputs: number): number[][] {
  const out = tf.tidy(() => conv2d(tf.tensor4d(images, [count, 32, 32, 3]), tf.tensor4d(weight, [kernel, kernel, 3, outputs]), 1, 0).reshape([-1, outputs]));
  const rows = out.shape[0]!;
  const moments = tf.tidy(() => tf.div(tf.matMul(out, out, true, false), rows).arraySync() as number[][]);
  out.dispose();
  return moments;
}

test('whitening filters: the first conv turns patches into unit-variance, uncorrelated outputs (and their negatives); further channels keep the init', () => {
  const [count, kernel, dim] = [40, 3, 27];
  const images = correlatedImages(count, 1);
  const moments = new PatchMoments(32, 3, kernel);
  for (let n = 0; n < count; n++) moments.add(images.subarray(n * 3072, (n + 1) * 3072));
  const spread = symmetricEigen(moments.result(), dim).values;
  assert.ok(spread[0] / spread[dim - 1] > 100, `the patches are far from white: eigenvalues ${spread[0]} … ${spread[dim - 1]}`);

  const outputs = 2 * dim + 3;
  const init = Float32Array.from({ length: dim * outputs }, (_, i) => 0.001 * (i % 7));
  const eps = 1e-7;
  const weight = whiteningFilters(moments.result(), dim, eps, init, outputs);
  // Through the model's own conv (its layout, its windows), on the same images the moments came from.
  const c = outputMoments(images, count, weight, kernel, outputs);
  for (let i = 0; i < dim; i++) {
    for (let j = 0; j < dim; j++) assert.ok(Math.abs(c[i][j] - (i === j ? 1 : 0)) < 2e-3, `whitened moment [${i}][${j}] = ${c[i][j]}`);
  }
  for (let r = 0; r < dim; r++) {
    for (let i = 0; i < dim; i++) assert.equal(weight[r * outputs + dim + i], -weight[r * outputs + i], 'the negatives');
    for (let i = 2 * dim; i < outputs; i++) assert.equal(weight[r * outputs + i], init[r * outputs + i], 'the init');
  }
});

test('with fewer channels than 2·k·k·3, the pairs are those of the largest eigenvalues; an odd channel keeps the init', () => {
  const images = correlatedImages(10, 3);
  const moments = new PatchMoments(32, 3, 2);
  for (let n = 0; n < 10; n++) moments.add(images.subarray(n * 3072, (n + 1) * 3072));
  const dim = 12;
  const { values, vectors } = symmetricEigen(moments.result(), dim);
  const init = new Float32Array(dim * 7).fill(0.5);
  const weight = whiteningFilters(moments.result(), dim, 5e-4, init, 7);
  for (let r = 0; r < dim; r++) {
    for (let i = 0; i < 3; i++) {
      assert.ok(Math.abs(weight[r * 7 + i] - vectors[r * dim + i] / Math.sqrt(values[i] + 5e-4)) < 1e-5);
      assert.equal(weight[r * 7 + 3 + i], -weight[r * 7 + i]);
    }
    assert.equal(weight[r * 7 + 6], 0.5);
  }
});

// ---------------------------------------------------------------------------------------------
// In training: a small CCT (a 4×4 token grid, so the CPU backend trains it in seconds).

let root: string;
let data: Cifar10;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-whiten-'));
  data = await loadCifar10(await writeSyntheticCifar10(root, { perBatch: 40, seed: 1 }));
});

function cctConfig(extra: { model?: Record<string, unknown>; [key: string]: unknown } = {}): Config {
  const { model, ...rest } = extra;
  return ConfigSchema.parse({
    run_name: 'whiten',
    checkpoint_dir: root,
    seed: 4,
    data: { limit_train: 96, limit_test: 40, val_split: 24 },
    model: { name: 'cct', dim: 16, depth: 1, heads: 2, mlp_ratio: 1, conv_stride: 2, pool_kernel: 4, pool_stride: 4, pool_padding: 0, whiten_init: {}, ...model },
    optimizer: { lr: 1e-2 },
    train: { epochs: 1, batch_size: 24, eval_batch_size: 24 },
    early_stopping: { enabled: false },
    ...rest,
  });
}

async function run(config: Config, extra: Partial<TrainOptions> = {}) {
  const runDir = extra.runDir ?? (await createRunDir(root, 'run'));
  const result = await train({ config, data, runDir, backend: 'cpu', ...extra });
  return { runDir, result };
}

/** The weights a fresh run starts from: the seed's init, then whitenTokenizer on `split`. */
function startingWeight(config: Config, split: Split): Float32Array {
  const params = initParams(config.model, config.seed);
  whitenTokenizer(params, config.model as CctConfig, { train: split, seed: config.seed, normalization: CIFAR10_NORMALIZATION });
  const weight = params[WHITENED].dataSync() as Float32Array;
  tf.dispose(Object.values(params));
  return weight;
}

test('frozen: training never changes the whitened conv (computed from the training part only, never the held-out images); everything else trains', async () => {
  const config = cctConfig();
  const { runDir } = await run(config);
  const saved = await loadCheckpoint(join(runDir, 'last'));
  const { train: trainPart, val } = selectSplits(data, config.data);
  assert.equal(val!.count, 24);
  assert.deepEqual(saved.weights[WHITENED].data, startingWeight(config, trainPart));
  const withVal = { ...trainPart, images: data.train.images.subarray(0, 96 * 3072), labels: data.train.labels.subarray(0, 96), count: 96 };
  assert.notDeepEqual(saved.weights[WHITENED].data, startingWeight(config, withVal), 'the held-out images would change it');
  assert.ok(!(`m/${WHITENED}` in saved.optimizer), 'no optimizer state for a frozen weight');
  const fresh = initParams(config.model, config.seed);
  assert.notDeepEqual(saved.weights['tokenizer.conv.0.weight'].data, fresh[WHITENED].dataSync(), 'whitening replaced the normal init');
  assert.notDeepEqual(saved.weights['head.weight'].data, fresh['head.weight'].dataSync(), 'the rest trained');
  tf.dispose(Object.values(fresh));
});

test('not frozen: the whitened conv is where training starts, and it trains', async () => {
  const config = cctConfig({ model: { whiten_init: { frozen: false } } });
  const { runDir } = await run(config);
  const saved = await loadCheckpoint(join(runDir, 'last'));
  const start = startingWeight(config, selectSplits(data, config.data).train);
  assert.notDeepEqual(saved.weights[WHITENED].data, start);
  assert.ok(`m/${WHITENED}` in saved.optimizer);
  const moved = saved.weights[WHITENED].data.reduce((s, v, i) => s + Math.abs(v - start[i]), 0) / start.length;
  assert.ok(moved < 0.05, `it started at the whitening filters: mean change ${moved}`);
});

test('with whitening, Muon, reflect crops and alternating flips: a run resumed mid-epoch replays exactly and leaves no tensor behind', async () => {
  const config = cctConfig({
    data: { limit_train: 96, limit_test: 40, val_split: 24, crop_padding: 2, crop_mode: 'reflect', flip_mode: 'alternate' },
    optimizer: { name: 'muon', lr: 1e-2 },
    train: { epochs: 2, batch_size: 24, eval_batch_size: 24, eval_tta: 'flip_translate' },
  });
  const before = tf.memory().numTensors;
  const straight = await run(config);
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind');
  const controller = new AbortController();
  const first = await run(config, { signal: controller.signal, events: { step: (p) => p.epoch === 2 && p.step === 1 && controller.abort() } });
  assert.equal(first.result.reason, 'interrupted');
  await run(config, { runDir: first.runDir, resume: await loadCheckpoint(join(first.runDir, 'last')) });
  const replayable = async (dir: string) =>
    (await readMetrics(join(dir, 'metrics.csv'))).map(({ epoch_seconds, images_per_second, elapsed_minutes, ...rest }) => rest);
  assert.deepEqual(await replayable(first.runDir), await replayable(straight.runDir));
  assert.deepEqual((await loadCheckpoint(join(first.runDir, 'last'))).weights, (await loadCheckpoint(join(straight.runDir, 'last'))).weights);
});
