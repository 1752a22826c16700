import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';
import { type Config, ConfigSchema } from '../src/config/schema.js';
import { type Cifar10, loadCifar10 } from '../src/data/cifar10.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { UserError } from '../src/errors.js';
import { Lookahead } from '../src/train/lookahead.js';
import { readMetrics } from '../src/train/metrics-csv.js';
import { createRunDir } from '../src/train/run-dir.js';
import { type TrainOptions, train } from '../src/train/trainer.js';

before(async () => {
  await tf.setBackend('cpu');
});

test('Lookahead: a copy at the first due step, then slow ← ρ·slow + (1 − ρ)·w and w ← slow with ρ = decay^every·(step/total)^power; w ← slow after an epoch', () => {
  const w = tf.variable(tf.tensor1d([0]));
  const params = { w };
  const lookahead = new Lookahead({ every: 2, decay: 0.5, power: 1, start_epoch: 2 });
  const set = (value: number) => tf.tidy(() => w.assign(tf.tensor1d([value])));
  const at = (value: number, step: number, epoch: number) => {
    set(value);
    lookahead.afterStep(params, step, 8, epoch);
    return w.dataSync()[0];
  };
  assert.equal(at(1, 2, 1), 1, 'epoch 1 is before start_epoch');
  assert.equal(lookahead.weights, null);
  assert.equal(at(2, 3, 2), 2, 'step 3 is not a multiple of every');
  assert.equal(at(4, 4, 2), 4, 'the first due step copies');
  assert.equal(lookahead.weights!.w.dataSync()[0], 4);
  // Step 6: ρ = 0.5² · (6/8) = 0.1875; slow = 0.1875·4 + 0.8125·10 = 8.875, and w is set to it.
  assert.ok(Math.abs(at(10, 6, 2) - 8.875) < 1e-6);
  // Step 8: ρ = 0.25 · 1 = 0.25; slow = 0.25·8.875 + 0.75·0 = 2.21875.
  assert.ok(Math.abs(at(0, 8, 2) - 2.21875) < 1e-6);
  set(7);
  lookahead.endEpoch(params);
  assert.ok(Math.abs(w.dataSync()[0] - 2.21875) < 1e-6, 'the epoch ends on the slow weights');
  const before = tf.memory().numTensors;
  for (let step = 9; step < 20; step++) at(step, step, 3);
  assert.equal(tf.memory().numTensors, before, 'no tensor left behind by the steps');
  lookahead.dispose();
  w.dispose();
});

test('Lookahead.restore checks the saved weights against the parameters', () => {
  const params = { w: tf.variable(tf.zeros([2])) };
  const lookahead = new Lookahead({ every: 1, decay: 0.9, power: 0, start_epoch: 1 });
  assert.throws(() => lookahead.restore(params, { w: { shape: [3], data: new Float32Array(3) } }, 'ckpt'), (e) => e instanceof UserError && /ckpt.*w/.test(e.message));
  lookahead.restore(params, { w: { shape: [2], data: Float32Array.from([1, 2]) } }, 'ckpt');
  assert.deepEqual(Array.from(lookahead.weights!.w.dataSync()), [1, 2]);
  lookahead.dispose();
  params.w.dispose();
});

let root: string;
let data: Cifar10;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-lookahead-'));
  data = await loadCifar10(await writeSyntheticCifar10(root, { perBatch: 40, seed: 1 }));
});

const config: Config = ConfigSchema.parse({
  run_name: 'lookahead',
  checkpoint_dir: '.',
  seed: 6,
  data: { limit_train: 96, limit_test: 40 },
  model: { dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
  optimizer: { lr: 1e-2 },
  train: { epochs: 3, batch_size: 32, eval_batch_size: 40, lookahead: { every: 2, power: 1 }, ema: { decay: 0.9 } },
  early_stopping: { enabled: false },
});

async function run(extra: Partial<TrainOptions> = {}) {
  const runDir = extra.runDir ?? (await createRunDir(root, 'run'));
  const result = await train({ config, data, runDir, backend: 'cpu', ...extra });
  return { runDir, result };
}

test('with lookahead (and EMA), a run resumed mid-epoch replays the uninterrupted one exactly and leaves no tensor behind', async () => {
  const before = tf.memory().numTensors;
  const straight = await run();
  assert.equal(tf.memory().numTensors, before);
  const controller = new AbortController();
  const first = await run({ signal: controller.signal, events: { step: (p) => p.epoch === 3 && p.step === 1 && controller.abort() } });
  assert.equal(first.result.reason, 'interrupted');
  const saved = await loadCheckpoint(join(first.runDir, 'last'));
  const slow = saved.optimizer['la/head.linear.weight'];
  assert.ok(slow, 'the slow weights are in the checkpoint');
  assert.notDeepEqual(slow.data, saved.optimizer['w/head.linear.weight'].data, 'one step after the epoch: the weights have left the slow copy');
  await run({ runDir: first.runDir, resume: saved });

  const replayable = async (dir: string) =>
    (await readMetrics(join(dir, 'metrics.csv'))).map(({ epoch_seconds, images_per_second, elapsed_minutes, ...rest }) => rest);
  assert.deepEqual(await replayable(first.runDir), await replayable(straight.runDir));
  const [a, b] = [await loadCheckpoint(join(first.runDir, 'last')), await loadCheckpoint(join(straight.runDir, 'last'))];
  assert.deepEqual(a.weights, b.weights);
  assert.deepEqual(a.optimizer, b.optimizer);
});

test('train.lookahead is off by default and checked like every key', () => {
  assert.ok(!('lookahead' in ConfigSchema.parse({}).train));
  assert.deepEqual(ConfigSchema.parse({ train: { lookahead: {} } }).train.lookahead, { every: 5, decay: 0.95, power: 3, start_epoch: 1 });
  assert.throws(() => ConfigSchema.parse({ train: { lookahead: { decay: 1 } } }), /decay/);
});
