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
import { readMetrics } from '../src/train/metrics-csv.js';
import { createRunDir } from '../src/train/run-dir.js';
import { type TrainOptions, train } from '../src/train/trainer.js';

let root: string;
let data: Cifar10;

before(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'vit-augment-resume-'));
  data = await loadCifar10(await writeSyntheticCifar10(root, { perBatch: 40, seed: 1 }));
});

/** A tiny run with every augmentation on: 96 images, 3 batches per epoch, 2 epochs. */
const config: Config = ConfigSchema.parse({
  run_name: 'augmented',
  checkpoint_dir: '.',
  seed: 5,
  data: {
    limit_train: 96,
    limit_test: 40,
    randaugment: { n: 2, m: 9 },
    mixup_alpha: 0.8,
    cutmix_alpha: 1,
    mix_prob: 0.9,
    random_erasing: 0.25,
  },
  model: { dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
  schedule: { warmup_epochs: 1 },
  train: { epochs: 2, batch_size: 32, eval_batch_size: 40, label_smoothing: 0.1 },
  early_stopping: { enabled: false },
});

async function run(extra: Partial<TrainOptions> = {}) {
  const runDir = extra.runDir ?? (await createRunDir(root, 'run'));
  const result = await train({ config, data, runDir, backend: 'cpu', ...extra });
  return { runDir, result };
}

/**
 * An uninterrupted run of `cfg`, and one interrupted at epoch `at.epoch`, step `at.step` and
 * resumed from its `last/`: their metrics and final weights must be identical.
 */
async function assertResumeReplays(cfg: Config, at: { epoch: number; step: number }): Promise<void> {
  const straight = await run({ config: cfg });
  assert.equal(straight.result.reason, 'completed');
  const controller = new AbortController();
  const first = await run({
    config: cfg,
    signal: controller.signal,
    events: { step: (p) => p.epoch === at.epoch && p.step === at.step && controller.abort() },
  });
  assert.equal(first.result.reason, 'interrupted');
  await run({ config: cfg, runDir: first.runDir, resume: await loadCheckpoint(join(first.runDir, 'last')) });
  assert.deepEqual(await replayable(first.runDir), await replayable(straight.runDir));
  assert.deepEqual((await loadCheckpoint(join(first.runDir, 'last'))).weights, (await loadCheckpoint(join(straight.runDir, 'last'))).weights);
}

/** Metrics that must replay exactly (timings never do). */
async function replayable(runDir: string) {
  return (await readMetrics(join(runDir, 'metrics.csv'))).map(({ epoch_seconds, images_per_second, elapsed_minutes, ...rest }) => rest);
}

test('with RandAugment, mixup/cutmix and erasing on, a run resumed mid-epoch replays the uninterrupted one exactly', async () => {
  const tensorsBefore = tf.memory().numTensors;
  const straight = await run();
  assert.equal(straight.result.reason, 'completed');
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor left behind');

  const controller = new AbortController();
  const first = await run({
    signal: controller.signal,
    events: { step: (p) => p.epoch === 2 && p.step === 2 && controller.abort() },
  });
  assert.equal(first.result.reason, 'interrupted');
  await run({ runDir: first.runDir, resume: await loadCheckpoint(join(first.runDir, 'last')) });

  assert.deepEqual(await replayable(first.runDir), await replayable(straight.runDir));
  assert.deepEqual((await loadCheckpoint(join(first.runDir, 'last'))).weights, (await loadCheckpoint(join(straight.runDir, 'last'))).weights);
});

test("with reflect-padded crops and alternating flips (epochs 2 and 3 flip differently), a resumed run replays exactly", async () => {
  const airbench = ConfigSchema.parse({
    ...config,
    data: { ...config.data, randaugment: null, mixup_alpha: 0, cutmix_alpha: 0, random_erasing: 0, crop_padding: 2, crop_mode: 'reflect', flip_mode: 'alternate' },
    train: { ...config.train, epochs: 3 },
  });
  const tensorsBefore = tf.memory().numTensors;
  await assertResumeReplays(airbench, { epoch: 3, step: 2 });
  assert.equal(tf.memory().numTensors, tensorsBefore, 'no tensor left behind');
});
