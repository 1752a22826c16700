import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, describe, test } from 'node:test';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';
import { restoreVariables } from '../src/checkpoint/weights.js';
import { parseConfig } from '../src/config/load.js';
import { type Config, ConfigSchema } from '../src/config/schema.js';
import { type Cifar10, loadCifar10 } from '../src/data/cifar10.js';
import { selectSplits } from '../src/data/splits.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { UserError } from '../src/errors.js';
import { initParams } from '../src/model/index.js';
import { budgetPlanLine } from '../src/cli/train-reporter.js';
import { type BudgetPlan, planFromFirstSteps, plannedEpochs, replan } from '../src/train/budget.js';
import { Ema } from '../src/train/ema.js';
import { evaluate } from '../src/train/evaluate.js';
import { readMetrics } from '../src/train/metrics-csv.js';
import { createRunDir } from '../src/train/run-dir.js';
import { createSchedule } from '../src/train/schedule.js';
import { type TrainOptions, train } from '../src/train/trainer.js';

let root: string;
let data: Cifar10;

before(async () => {
  await tf.setBackend('cpu');
  root = await mkdtemp(join(tmpdir(), 'vit-budget-'));
  data = await loadCifar10(await writeSyntheticCifar10(root, { perBatch: 40, seed: 1 }));
});

/** 96 training images in 3 steps per epoch. */
function tinyConfig(train: Record<string, unknown>, extra: Record<string, unknown> = {}): Config {
  return ConfigSchema.parse({
    run_name: 'tiny',
    checkpoint_dir: root,
    seed: 5,
    data: { limit_train: 96, limit_test: 40 },
    model: { dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
    optimizer: { lr: 1e-2 },
    schedule: { warmup_epochs: 1, min_lr: 1e-4 },
    train: { batch_size: 32, eval_batch_size: 40, ...train },
    early_stopping: { enabled: false },
    ...extra,
  });
}

/** A clock that advances only when a training step ends: `secondsPerStep` each. */
function stepClock(secondsPerStep: number) {
  let ms = 0;
  return { now: () => ms, events: { step: () => void (ms += secondsPerStep * 1000) } };
}

async function run(config: Config, extra: Partial<TrainOptions> = {}) {
  const runDir = extra.runDir ?? (await createRunDir(root, 'run'));
  const result = await train({ config, data, runDir, backend: 'cpu', ...extra });
  return { runDir, result, rows: await readMetrics(join(runDir, 'metrics.csv')) };
}

describe('train.fit_to_budget', () => {
  test('plannedEpochs fits whole epochs into the budget, within [minEpochs, maxEpochs]', () => {
    assert.equal(plannedEpochs({ budgetSeconds: 3600, firstEpochSeconds: 280, maxEpochs: 100, minEpochs: 2 }), 12);
    assert.equal(plannedEpochs({ budgetSeconds: 3600, firstEpochSeconds: 290, maxEpochs: 10, minEpochs: 2 }), 10);
    assert.equal(plannedEpochs({ budgetSeconds: 3600, firstEpochSeconds: 5000, maxEpochs: 10, minEpochs: 2 }), 2);
    // Headroom for later epochs a little slower than the first: 3600 / 300 = 12 exactly plans 11.
    assert.equal(plannedEpochs({ budgetSeconds: 3600, firstEpochSeconds: 300, maxEpochs: 100, minEpochs: 2 }), 11);
  });

  test('is an error without train.max_minutes', () => {
    assert.throws(
      () => parseConfig({ train: { fit_to_budget: true } }, 'x.json'),
      (err: unknown) => err instanceof UserError && /train\.fit_to_budget.*needs train\.max_minutes/.test(err.message),
    );
  });

  test('replan: after the second epoch always, later only when an epoch time drifts by more than a tenth', () => {
    const first = replan({ previous: null, epoch: 1, epochSeconds: 80, elapsedSeconds: 100, budgetSeconds: 1000, maxEpochs: 50, minEpochs: 2 });
    assert.deepEqual(first, { after_epoch: 1, epoch_seconds: 100, epochs: 9, reason: 'first' }); // 1000 / (100 · 1.04)
    // The second epoch took 50 s: 800 s left fit 15 more at 52 s.
    const second = replan({ previous: first, epoch: 2, epochSeconds: 50, elapsedSeconds: 150, budgetSeconds: 1000, maxEpochs: 50, minEpochs: 2 });
    assert.deepEqual(second, { after_epoch: 2, epoch_seconds: 50, epochs: 18, reason: 'second' });
    const at = (epochSeconds: number, elapsedSeconds: number) => replan({ previous: second, epoch: 5, epochSeconds, elapsedSeconds, budgetSeconds: 1000, maxEpochs: 50, minEpochs: 2 });
    assert.equal(at(54.9, 310), null, 'within a tenth of the 50 s assumed: the plan stands');
    assert.equal(at(45.1, 290), null);
    assert.deepEqual(at(60, 330), { after_epoch: 5, epoch_seconds: 60, epochs: 15, reason: 'drift' }); // 670 s left / 62.4 s = 10 more
    assert.equal(replan({ previous: second, epoch: 5, epochSeconds: 10, elapsedSeconds: 300, budgetSeconds: 1000, maxEpochs: 20, minEpochs: 2 })!.epochs, 20, 'train.epochs bounds it');
    assert.equal(replan({ previous: second, epoch: 5, epochSeconds: 500, elapsedSeconds: 900, budgetSeconds: 1000, maxEpochs: 50, minEpochs: 2 })!.epochs, 5, 'no time left: the run ends with this epoch');
    assert.equal(replan({ previous: { ...second, epochs: 5 }, epoch: 5, epochSeconds: 10, elapsedSeconds: 300, budgetSeconds: 1000, maxEpochs: 50, minEpochs: 2 }), null, 'the last planned epoch: nothing left to plan');
  });

  test('the first epoch plans the run, the second plans it again, and the cosine schedule ends with the plan', async () => {
    // The first epoch's 3 steps take 30 s each (set-up), later ones 9 s. After two steps (15 s, 5%
    // of the 5-minute budget spent) the estimate is 3 · 31.2 s + the evaluation's 13 s: 2 epochs;
    // the 90 s first epoch plans 3; the 27 s second epoch re-plans to 2 + 183 / 28.08 = 8.
    let ms = 0;
    let steps = 0;
    const clock = { now: () => ms, step: () => void (ms += (++steps <= 3 ? 30 : 9) * 1000) };
    const config = tinyConfig({ epochs: 50, max_minutes: 5, fit_to_budget: true });
    const plans: BudgetPlan[] = [];
    const { result, rows, runDir } = await run(config, {
      now: clock.now,
      events: { step: clock.step, epoch: (_row, info) => void (plans.push(...info.plans)) },
    });
    assert.equal(result.reason, 'completed');
    assert.deepEqual(plans.map((p) => ({ ...p, epoch_seconds: Math.round(p.epoch_seconds * 100) / 100 })), [
      { after_epoch: 0, epoch_seconds: 106.6, epochs: 2, reason: 'estimate' },
      { after_epoch: 1, epoch_seconds: 90, epochs: 3, reason: 'first' },
      { after_epoch: 2, epoch_seconds: 27, epochs: 8, reason: 'second' },
    ]);
    assert.equal(rows.length, 8);
    const state = (await loadCheckpoint(join(runDir, 'last'))).state;
    assert.equal(state.planned_epochs, 8);
    assert.deepEqual(state.plans, plans, 'every plan is in the checkpoint');
    const schedule = createSchedule(config.schedule, config.optimizer.lr, 3, 8);
    assert.ok(Math.abs(rows[7].lr / schedule.lrAt(23) - 1) < 1e-6, 'the last row has the last step of an 8-epoch cosine');
    assert.ok(rows[7].lr < 0.02 * config.optimizer.lr, `annealed: ${rows.map((r) => r.lr)}`);
    assert.ok(rows[7].elapsed_minutes < 5, 'within the budget');
  });

  test('planFromFirstSteps: the epochs that fit, from the first steps; when not even one does, the steps that do', () => {
    const opts = { step: 2, epochSeconds: 18, elapsedSeconds: 18, budgetSeconds: 60, stepsPerEpoch: 12, batchSize: 8, evalImages: 40, maxEpochs: 50, minEpochs: 1 };
    // 9.36 s a step with headroom: the epoch 112.32 s, and its evaluation, 40 images at a third of 9.36/8 s each, 15.6 s.
    const round = (plan: BudgetPlan) => ({ ...plan, epoch_seconds: Math.round(plan.epoch_seconds * 100) / 100 });
    assert.deepEqual(round(planFromFirstSteps(opts)), { after_epoch: 0, epoch_seconds: 127.92, epochs: 1, reason: 'steps', steps: 4 });
    assert.equal(planFromFirstSteps({ ...opts, budgetSeconds: 10 }).steps, 2, 'no time left: the steps done');
    assert.equal(planFromFirstSteps({ ...opts, budgetSeconds: 127 }).steps, 11, 'at most one step short of the epoch');
    assert.deepEqual(round(planFromFirstSteps({ ...opts, budgetSeconds: 130 })), { after_epoch: 0, epoch_seconds: 127.92, epochs: 1, reason: 'estimate' });
    assert.equal(planFromFirstSteps({ ...opts, budgetSeconds: 600 }).epochs, 4, '600 / 127.92');
    assert.equal(planFromFirstSteps({ ...opts, budgetSeconds: 6000, maxEpochs: 20 }).epochs, 20, 'train.epochs bounds it');
  });

  test('a run whose first epoch does not fit trains the planned steps of it, with the schedule over them, and resumes exactly', async () => {
    // 12 steps of 9 s per epoch against a 1-minute budget: planned after 2 steps (5% of the budget spent) to 4.
    const config = tinyConfig({ epochs: 50, batch_size: 8, max_minutes: 1, fit_to_budget: true }, { schedule: { warmup_epochs: 0.25, min_lr: 1e-4 } });
    const plans: BudgetPlan[] = [];
    const clock = stepClock(9);
    const straight = await run(config, { now: clock.now, events: { ...clock.events, epoch: (_row, info) => void (plans.push(...info.plans)) } });
    assert.equal(straight.result.reason, 'completed');
    assert.match(straight.result.message, /completed the 4 steps the time budget planned \(of the first epoch's 12\)/);
    assert.deepEqual(plans.map(({ reason, steps, epochs }) => ({ reason, steps, epochs })), [{ reason: 'steps', steps: 4, epochs: 1 }]);
    assert.equal(straight.rows.length, 1);
    const schedule = createSchedule(config.schedule, config.optimizer.lr, 4, 1);
    assert.ok(Math.abs(straight.rows[0].lr / schedule.lrAt(3) - 1) < 1e-6, `the row has the last step of a 4-step schedule: ${straight.rows[0].lr}`);
    const state = (await loadCheckpoint(join(straight.runDir, 'last'))).state;
    assert.deepEqual([state.global_step, state.planned_epochs, state.plans?.[0].steps], [4, 1, 4]);

    const controller = new AbortController();
    const interrupted = stepClock(9);
    let steps = 0;
    const first = await run(config, { now: interrupted.now, signal: controller.signal, events: { step: () => (interrupted.events.step(), ++steps === 3 && controller.abort()) } });
    assert.equal(first.result.reason, 'interrupted');
    const resumed = await run(config, { runDir: first.runDir, resume: await loadCheckpoint(join(first.runDir, 'last')), ...stepClock(9) });
    assert.equal(resumed.result.reason, 'completed');
    const replayable = (rows: typeof straight.rows) => rows.map(({ epoch, lr, train_loss, val_loss, val_acc }) => ({ epoch, lr, train_loss, val_loss, val_acc }));
    assert.deepEqual(replayable(resumed.rows), replayable(straight.rows));
  });

  test('each plan is one line of the output', () => {
    assert.equal(budgetPlanLine({ after_epoch: 0, epoch_seconds: 1006, epochs: 1, reason: 'estimate' }), 'time budget: one epoch should take 16:46 (from its first steps), so this run trains 1 epoch and its schedule ends with them');
    assert.equal(budgetPlanLine({ after_epoch: 1, epoch_seconds: 90, epochs: 3, reason: 'first' }), 'time budget: the first epoch took 1:30, so this run trains 3 epochs and its schedule ends with them');
    assert.equal(budgetPlanLine({ after_epoch: 2, epoch_seconds: 27, epochs: 8, reason: 'second' }), 'time budget: the second epoch took 0:27, so this run now trains 8 epochs (re-planned; the schedule ends with them)');
    assert.equal(budgetPlanLine({ after_epoch: 0, epoch_seconds: 1880, epochs: 1, reason: 'steps', steps: 412 }), 'time budget: one epoch would take 31:20, more than the budget, so this run trains 412 steps of its first epoch and its schedule ends with them');
    assert.equal(budgetPlanLine({ after_epoch: 2, epoch_seconds: 27, epochs: 8, reason: 'second' }, 8), 'time budget: the second epoch took 0:27, so this run keeps its 8 epochs (planned again: the same length)');
    assert.equal(budgetPlanLine({ after_epoch: 2, epoch_seconds: 27, epochs: 8, reason: 'second' }, 9), 'time budget: the second epoch took 0:27, so this run now trains 8 epochs (re-planned; the schedule ends with them)');
    assert.equal(budgetPlanLine({ after_epoch: 6, epoch_seconds: 31, epochs: 7, reason: 'drift' }), 'time budget: epoch 6 took 0:31, so this run now trains 7 epochs (re-planned; the schedule ends with them)');
  });

  test('a resumed run continues the plans of its checkpoint: at the same speed it replays the straight run, interrupted mid-epoch or between epochs', async () => {
    const config = tinyConfig({ epochs: 50, max_minutes: 2, fit_to_budget: true });
    const straight = await run(config, stepClock(9));
    const replayable = (rows: typeof straight.rows) => rows.map(({ epoch, lr, train_loss, val_loss, val_acc }) => ({ epoch, lr, train_loss, val_loss, val_acc }));
    for (const stopAt of [{ epoch: 2, step: null }, { epoch: 3, step: 2 }]) {
      const controller = new AbortController();
      const clock = stepClock(9);
      let step = 0;
      const first = await run(config, {
        now: clock.now,
        signal: controller.signal,
        events: {
          step: () => {
            clock.events.step();
            step++;
            if (stopAt.step !== null && step === (stopAt.epoch - 1) * 3 + stopAt.step) controller.abort();
          },
          epoch: (row) => void (stopAt.step === null && row.epoch === stopAt.epoch && controller.abort()),
        },
      });
      assert.equal(first.result.reason, 'interrupted');
      const resumed = await run(config, { runDir: first.runDir, resume: await loadCheckpoint(join(first.runDir, 'last')), ...stepClock(9) });
      assert.equal(resumed.result.reason, 'completed');
      assert.deepEqual(replayable(resumed.rows), replayable(straight.rows), `stopped at ${JSON.stringify(stopAt)}`);
      assert.deepEqual((await loadCheckpoint(join(resumed.runDir, 'last'))).state.plans, (await loadCheckpoint(join(straight.runDir, 'last'))).state.plans);
    }
  });

  test('a resumed run on a faster machine re-plans from its drift, keeping the plans before it', async () => {
    const config = tinyConfig({ epochs: 50, max_minutes: 2, fit_to_budget: true });
    const controller = new AbortController();
    const clock = stepClock(9);
    const first = await run(config, { now: clock.now, signal: controller.signal, events: { ...clock.events, epoch: (row) => void (row.epoch === 2 && controller.abort()) } });
    const plans: BudgetPlan[] = [];
    // Three times faster from epoch 3: after its 9 s, 57 s are left, which fit 6 more (9.36 s with headroom).
    const fast = stepClock(3);
    const resumed = await run(config, { runDir: first.runDir, resume: await loadCheckpoint(join(first.runDir, 'last')), now: fast.now, events: { ...fast.events, epoch: (_row, info) => void (plans.push(...info.plans)) } });
    assert.equal(resumed.result.reason, 'completed');
    assert.deepEqual(plans, [{ after_epoch: 3, epoch_seconds: 9, epochs: 9, reason: 'drift' }]);
    const state = (await loadCheckpoint(join(resumed.runDir, 'last'))).state;
    assert.deepEqual(state.plans!.map((p) => p.reason), ['estimate', 'first', 'second', 'drift']);
  });
});

describe('train.ema', () => {
  test('warm-up ramps the decay up to its setting; the update is d·ema + (1 − d)·w', () => {
    const params = { w: tf.variable(tf.tensor([1, 2])) };
    const ema = new Ema(params, 0.999, true);
    assert.ok(Math.abs(ema.decayAt(1) - (1 - 2 ** (-2 / 3))) < 1e-12);
    assert.equal(ema.decayAt(1e9), 0.999);
    assert.equal(new Ema(params, 0.9, false).decayAt(1), 0.9);
    params.w.assign(tf.tensor([3, 6]));
    ema.update(params, 1);
    const d = ema.decayAt(1);
    const got = ema.params.w.dataSync();
    [1, 2].forEach((start, i) => assert.ok(Math.abs(got[i] - (d * start + (1 - d) * 3 * start)) < 1e-6));
    ema.dispose();
    params.w.dispose();
  });

  test("BatchNorm's buffers are copied, not averaged (timm's ModelEmaV2/V3): the average model's statistics are the trained model's", () => {
    const params = { 'bn.weight': tf.variable(tf.tensor([1, 1])), 'bn.running_var': tf.variable(tf.tensor([1, 1])), 'bn.num_batches_tracked': tf.variable(tf.scalar(0)) };
    const ema = new Ema(params, 0.9, false, new Set(['bn.running_var', 'bn.num_batches_tracked']));
    params['bn.weight'].assign(tf.tensor([2, 3]));
    params['bn.running_var'].assign(tf.tensor([0.5, 4]));
    params['bn.num_batches_tracked'].assign(tf.scalar(1));
    ema.update(params, 1);
    assert.deepEqual(Array.from(ema.params['bn.running_var'].dataSync()), [0.5, 4]);
    assert.deepEqual(Array.from(ema.params['bn.num_batches_tracked'].dataSync()), [1]);
    const weight = ema.params['bn.weight'].dataSync();
    [2, 3].forEach((trained, i) => assert.ok(Math.abs(weight[i] - (0.9 * 1 + 0.1 * trained)) < 1e-6, 'a parameter is averaged'));
    ema.dispose();
    tf.dispose(Object.values(params));
  });

  test('the run evaluates and saves the average; resume replays exactly; no tensor is left behind', async () => {
    const config = tinyConfig({ epochs: 3, ema: { decay: 0.9, warmup: false } });
    const tensorsBefore = tf.memory().numTensors;
    const straight = await run(config);
    assert.equal(tf.memory().numTensors, tensorsBefore);

    const last = await loadCheckpoint(join(straight.runDir, 'last'));
    assert.ok('w/blocks.0.mlp.fc1.weight' in last.optimizer, 'the raw weights are kept for resuming');
    assert.notDeepEqual(last.weights['blocks.0.mlp.fc1.weight'].data, last.optimizer['w/blocks.0.mlp.fc1.weight'].data);
    // What the checkpoint calls its weights is what was evaluated: the recorded val accuracy comes back.
    const params = initParams(config.model, 0);
    restoreVariables(params, last.weights, 'last');
    const evaluation = await evaluate(params, config.model, selectSplits(data, config.data).test, { batchSize: 40 });
    tf.dispose(Object.values(params));
    assert.equal(Math.fround(evaluation.accuracy), straight.rows[2].val_acc);

    const controller = new AbortController();
    const first = await run(config, { signal: controller.signal, events: { step: (p) => void (p.epoch === 2 && p.step === 1 && controller.abort()) } });
    await run(config, { runDir: first.runDir, resume: await loadCheckpoint(join(first.runDir, 'last')) });
    assert.deepEqual((await loadCheckpoint(join(first.runDir, 'last'))).weights, last.weights);
    assert.deepEqual((await readMetrics(join(first.runDir, 'metrics.csv'))).map((r) => r.val_loss), straight.rows.map((r) => r.val_loss));
  });

  test('resuming a checkpoint saved without EMA with EMA on is a clear error', async () => {
    const { runDir } = await run(tinyConfig({ epochs: 2 }));
    const withEma = tinyConfig({ epochs: 3, ema: {} });
    await assert.rejects(
      run(withEma, { runDir, resume: await loadCheckpoint(join(runDir, 'last')) }),
      (err: unknown) => err instanceof UserError && /without train\.ema/.test(err.message),
    );
  });
});
