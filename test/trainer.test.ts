import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';
import { type BackendName, type Config, ConfigSchema } from '../src/config/schema.js';
import { type Cifar10, loadCifar10 } from '../src/data/cifar10.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { UserError } from '../src/errors.js';
import { readMetrics } from '../src/train/metrics-csv.js';
import { createRunDir } from '../src/train/run-dir.js';
import { type TrainEvents, type TrainOptions, train } from '../src/train/trainer.js';

let root: string;
let data: Cifar10;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-trainer-'));
  data = await loadCifar10(await writeSyntheticCifar10(root, { perBatch: 40, seed: 1 }));
});

/** A tiny run: 96 images, 3 batches per epoch, dropout on so that its seeding is exercised. */
function tinyConfig(overrides: Record<string, unknown> = {}): Config {
  return ConfigSchema.parse({
    run_name: 'tiny',
    checkpoint_dir: root,
    seed: 3,
    data: { limit_train: 96, limit_test: 40 },
    model: { dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8, dropout: 0.1 },
    optimizer: { lr: 1e-2 },
    schedule: { warmup_epochs: 1 },
    train: { epochs: 4, batch_size: 32, eval_batch_size: 40 },
    early_stopping: { enabled: false },
    ...overrides,
  });
}

async function run(config: Config, extra: Partial<TrainOptions> = {}) {
  const runDir = extra.runDir ?? (await createRunDir(root, 'run'));
  const result = await train({ config, data, runDir, backend: tf.getBackend(), ...extra });
  return { runDir, result };
}

/** Metrics that must replay exactly (timings never do). */
async function replayable(runDir: string) {
  return (await readMetrics(join(runDir, 'metrics.csv'))).map(({ epoch_seconds, images_per_second, elapsed_minutes, ...rest }) => rest);
}

async function weightsOf(dir: string) {
  return (await loadCheckpoint(dir)).weights;
}

/** Aborts the run when `when` first returns true for an event. */
function abortWhen(when: { epoch?: (row: { epoch: number }) => boolean; step?: (p: { epoch: number; step: number }) => boolean }) {
  const controller = new AbortController();
  const events: TrainEvents = {
    epoch: (row) => when.epoch?.(row) && controller.abort(),
    step: (p) => when.step?.(p) && controller.abort(),
  };
  return { signal: controller.signal, events };
}

/**
 * Runs `config` straight through (asserting it leaves no tensor behind), then again interrupted in
 * epoch 2 after step 2, checks the saved `last/` with `checkSaved`, resumes it, and asserts the
 * resumed run's metrics and weights equal the uninterrupted run's.
 */
async function assertResumedMidEpochReplays(config: Config, checkSaved: (saved: Awaited<ReturnType<typeof loadCheckpoint>>) => void) {
  const before = tf.memory().numTensors;
  const straight = await run(config);
  assert.equal(tf.memory().numTensors, before);
  const stop = abortWhen({ step: (p) => p.epoch === 2 && p.step === 2 });
  const first = await run(config, stop);
  assert.equal(first.result.reason, 'interrupted');
  const saved = await loadCheckpoint(join(first.runDir, 'last'));
  checkSaved(saved);
  await run(config, { runDir: first.runDir, resume: saved });

  assert.deepEqual(await replayable(first.runDir), await replayable(straight.runDir));
  assert.deepEqual(await weightsOf(join(first.runDir, 'last')), await weightsOf(join(straight.runDir, 'last')));
}

for (const backend of ['cpu', 'wasm']) {
  describe(`training on ${backend}`, () => {
    before(async () => {
      await useBackend(backend as BackendName); // as users get it: wasm with its native kernels, where built
    });

    test('resume after an interruption between epochs replays the uninterrupted run exactly', async () => {
      const config = tinyConfig();
      const straight = await run(config);
      assert.equal(straight.result.reason, 'completed');
      const rows = await readMetrics(join(straight.runDir, 'metrics.csv'));
      assert.ok(rows[3].train_loss < rows[0].train_loss - 0.1, `it learns: train loss ${rows.map((r) => r.train_loss)}`);
      assert.ok(rows[3].val_acc > 0.25, `val acc ${rows.map((r) => r.val_acc)}`);

      const stop = abortWhen({ epoch: (row) => row.epoch === 2 });
      const first = await run(config, stop);
      assert.equal(first.result.reason, 'interrupted');
      const resumed = await run(config, { runDir: first.runDir, resume: await loadCheckpoint(join(first.runDir, 'last')) });
      assert.equal(resumed.result.reason, 'completed');

      assert.deepEqual(await replayable(first.runDir), await replayable(straight.runDir));
      assert.deepEqual(await weightsOf(join(first.runDir, 'last')), await weightsOf(join(straight.runDir, 'last')));
    });

    test('resume after an interruption mid-epoch replays the uninterrupted run exactly', async () => {
      const config = tinyConfig();
      const straight = await run(config);
      const stop = abortWhen({ step: (p) => p.epoch === 2 && p.step === 2 });
      const first = await run(config, stop);
      assert.equal(first.result.reason, 'interrupted');
      assert.equal(first.result.state.step_in_epoch, 2);
      assert.equal((await readMetrics(join(first.runDir, 'metrics.csv'))).length, 1, 'only epoch 1 was reported');
      await run(config, { runDir: first.runDir, resume: await loadCheckpoint(join(first.runDir, 'last')) });

      assert.deepEqual(await replayable(first.runDir), await replayable(straight.runDir));
      assert.deepEqual(await weightsOf(join(first.runDir, 'last')), await weightsOf(join(straight.runDir, 'last')));
    });

    test('with Muon, a run resumed mid-epoch replays the uninterrupted one exactly and leaves no tensor behind', async () => {
      const config = tinyConfig({
        optimizer: { name: 'muon', lr: 1e-2, muon: { lr: 0.02 } },
        train: { epochs: 2, batch_size: 32, eval_batch_size: 40 },
      });
      await assertResumedMidEpochReplays(config, (saved) => {
        assert.ok('muon/blocks.0.mlp.fc1.weight' in saved.optimizer && 'm/head.linear.weight' in saved.optimizer, 'the buffers are in the checkpoint');
      });
    });

    test('a whole run leaves no tensor behind', async () => {
      const before = tf.memory().numTensors;
      await run(tinyConfig({ train: { epochs: 2, batch_size: 32, eval_batch_size: 40 } }));
      assert.equal(tf.memory().numTensors, before);
    });
  });
}

describe('the convolutional families (BatchNorm buffers, SGD, EMA) on wasm', () => {
  before(async () => {
    await useBackend('wasm');
  });

  const families = {
    convmixer: { name: 'convmixer', dim: 16, depth: 2, kernel_size: 4, patch_size: 4 },
    resnet: { name: 'resnet', num_blocks: [1, 1, 1, 1] },
  };
  for (const [family, model] of Object.entries(families)) {
    test(`${family}: a whole run leaves no tensor behind, and one resumed mid-epoch replays the uninterrupted run exactly`, async () => {
      const config = tinyConfig({
        model,
        optimizer: { name: 'sgd', lr: 0.05, weight_decay: 5e-4, sgd: { momentum: 0.9, nesterov: true } },
        train: { epochs: 2, batch_size: 32, eval_batch_size: 40, ema: { decay: 0.9 } },
      });
      await assertResumedMidEpochReplays(config, (saved) => {
        assert.ok(Object.keys(saved.weights).some((k) => k.endsWith('running_var')), 'the BatchNorm buffers are in the checkpoint');
        assert.ok(Object.keys(saved.optimizer).some((k) => k.startsWith('sgd/')), 'so is the momentum');
      });
    });
  }
});

describe('stopping', () => {
  before(async () => {
    await tf.setBackend('cpu');
  });

  test('early stopping ends the run after `patience` epochs without improvement and keeps best/', async () => {
    // An LR too small to change anything: val_acc never improves after epoch 1.
    const config = tinyConfig({
      optimizer: { lr: 1e-12 },
      train: { epochs: 10, batch_size: 32, eval_batch_size: 40 },
      early_stopping: { enabled: true, monitor: 'val_acc', mode: 'max', patience: 2 },
    });
    const { runDir, result } = await run(config);
    assert.equal(result.reason, 'early_stopping');
    assert.match(result.message, /val_acc/);
    assert.equal((await readMetrics(join(runDir, 'metrics.csv'))).length, 3);
    assert.equal((await loadCheckpoint(join(runDir, 'best'))).state.epoch, 1);
    assert.equal((await loadCheckpoint(join(runDir, 'last'))).state.epoch, 3);
  });

  test('a NaN loss stops with a clear error and leaves the last checkpoint untouched', async () => {
    const config = tinyConfig({ schedule: { name: 'constant' }, train: { epochs: 1, batch_size: 32, eval_batch_size: 40 } });
    const { runDir } = await run(config);
    const lastWeights = await readFile(join(runDir, 'last', 'weights.safetensors'));

    const exploding = tinyConfig({ optimizer: { lr: 1e30 }, schedule: { name: 'constant' }, train: { epochs: 2, batch_size: 32, eval_batch_size: 40 } });
    await assert.rejects(
      run(exploding, { runDir, resume: await loadCheckpoint(join(runDir, 'last')) }),
      (err: unknown) => err instanceof UserError && /loss became (NaN|Infinity|-Infinity) at epoch 2/.test(err.message),
    );
    assert.deepEqual(await readFile(join(runDir, 'last', 'weights.safetensors')), lastWeights);
  });

  test('the time budget ends training cleanly with an evaluation and a checkpoint', async () => {
    const config = tinyConfig({ train: { epochs: 50, batch_size: 32, eval_batch_size: 40, max_minutes: 1e-6 } });
    const { runDir, result } = await run(config);
    assert.equal(result.reason, 'time_budget');
    const rows = await readMetrics(join(runDir, 'metrics.csv'));
    assert.equal(rows.length, 1);
    assert.ok(Number.isFinite(rows[0].val_acc));
    assert.equal((await loadCheckpoint(join(runDir, 'last'))).state.epoch, 1);
  });
});
