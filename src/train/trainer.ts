import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { type Checkpoint, type TrainingState, saveCheckpoint } from '../checkpoint/checkpoint.js';
import { restoreVariables, snapshot } from '../checkpoint/weights.js';
import type { Config } from '../config/schema.js';
import { toTensors, trainAugmentations, trainBatches } from '../data/batches.js';
import type { Cifar10 } from '../data/cifar10.js';
import { selectSplits } from '../data/splits.js';
import { UserError } from '../errors.js';
import { initParams, isDecayed } from '../model/vit.js';
import { VERSION } from '../version.js';
import { EarlyStopping } from './early-stopping.js';
import { evaluate } from './evaluate.js';
import { MetricsCsv, type MetricsRow } from './metrics-csv.js';
import { Optimizer } from './optimizer.js';
import { createSchedule } from './schedule.js';
import { epochRng, stepSeed } from './seeds.js';
import { trainStep } from './train-step.js';

export type StopReason = 'completed' | 'early_stopping' | 'time_budget' | 'interrupted';

export interface TrainEvents {
  start?(info: { runDir: string; epoch: number; stepsPerEpoch: number; trainCount: number; valCount: number; valName: string }): void;
  step?(p: { epoch: number; step: number; steps: number; loss: number; acc: number; lr: number; imagesPerSecond: number; etaSeconds: number }): void;
  epoch?(row: MetricsRow, info: { best: boolean }): void;
}

export interface TrainOptions {
  config: Config;
  data: Cifar10;
  runDir: string;
  backend: string;
  /** Continue from this checkpoint (its config must be `config` up to epochs/time budget). */
  resume?: Checkpoint;
  events?: TrainEvents;
  /** Abort: the current step finishes, `last/` is saved mid-epoch, and the run returns 'interrupted'. */
  signal?: AbortSignal;
}

export interface TrainResult {
  reason: StopReason;
  message: string;
  state: TrainingState;
}

/**
 * The training loop: epochs of shuffled, augmented batches, an evaluation after each, a metrics
 * row, and `last/` (always) and `best/` (when the monitored metric improved) checkpoints.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { config: cfg, runDir, events = {} } = opts;
  const { train: trainSplit, val, test } = selectSplits(opts.data, cfg.data);
  const valSplit = val ?? test;
  const batchSize = cfg.train.batch_size;
  const stepsPerEpoch = Math.ceil(trainSplit.count / batchSize);
  const augmentations = trainAugmentations(cfg.data, cfg.train.label_smoothing);

  const params = initParams(cfg.model, cfg.seed);
  const optimizer = new Optimizer(params, cfg.optimizer, isDecayed);
  const schedule = createSchedule(cfg.schedule, cfg.optimizer.lr, stepsPerEpoch, cfg.train.epochs);
  const stopper = new EarlyStopping(cfg.early_stopping);
  let state: TrainingState = {
    epoch: 0,
    step_in_epoch: 0,
    global_step: 0,
    optimizer_step: 0,
    elapsed_seconds: 0,
    partial_epoch: null,
    schedule: null,
    early_stopping: null,
    best: null,
  };
  if (opts.resume) {
    state = opts.resume.state;
    restoreVariables(params, opts.resume.weights, 'the resumed checkpoint\'s weights.safetensors');
    const moments = Object.fromEntries(Object.entries(opts.resume.optimizer).map(([n, a]) => [n, tf.tensor(a.data, a.shape)]));
    optimizer.setState({ step: state.optimizer_step, tensors: moments });
    tf.dispose(Object.values(moments));
    schedule.setState(state.schedule);
    stopper.setState(state.early_stopping);
  }
  const csvPath = join(runDir, 'metrics.csv');
  const csv = opts.resume ? await MetricsCsv.resume(csvPath, state.epoch) : await MetricsCsv.create(csvPath);
  const save = async (name: string, metrics: Record<string, number> | null) => {
    const moments = optimizer.getState();
    const ckpt = {
      config: cfg,
      weights: await snapshot(params),
      optimizer: await snapshot(moments.tensors),
      state: { ...state, optimizer_step: moments.step },
      meta: { tool: 'vit', version: VERSION, backend: opts.backend, date: new Date().toISOString(), metrics },
    };
    tf.dispose(Object.values(moments.tensors));
    await saveCheckpoint(join(runDir, name), ckpt);
  };

  events.start?.({
    runDir,
    epoch: state.epoch,
    stepsPerEpoch,
    trainCount: trainSplit.count,
    valCount: valSplit.count,
    valName: val ? 'val' : 'test',
  });
  const started = performance.now() - state.elapsed_seconds * 1000;
  const elapsedSeconds = () => (performance.now() - started) / 1000;
  const overBudget = () => cfg.train.max_minutes !== null && elapsedSeconds() > cfg.train.max_minutes * 60;

  try {
    for (let epoch = state.epoch + 1; epoch <= cfg.train.epochs; epoch++) {
      const sums = state.partial_epoch ?? { loss_sum: 0, correct: 0, seen: 0, seconds: 0, grad_norm_sum: 0 };
      const epochStart = performance.now() - sums.seconds * 1000;
      let step = 0;
      let budgetHit = false;
      // A resumed mid-epoch run regenerates the epoch's batches from the same seed and skips
      // the ones already trained on: cheaper than saving the shuffle and augmentation state.
      for (const batch of trainBatches(trainSplit, { batchSize, rng: epochRng(cfg.seed, epoch), ...augmentations })) {
        if (step < state.step_in_epoch) {
          step++;
          continue;
        }
        if (opts.signal?.aborted) {
          state = { ...state, step_in_epoch: step, elapsed_seconds: elapsedSeconds(), partial_epoch: { ...sums, seconds: (performance.now() - epochStart) / 1000 }, schedule: schedule.getState(), early_stopping: stopper.getState() };
          await save('last', null);
          return { reason: 'interrupted', message: `interrupted at epoch ${epoch}, step ${step}/${stepsPerEpoch}`, state };
        }
        const lr = schedule.lrAt(state.global_step);
        const tensors = toTensors(batch);
        const result = await trainStep(params, cfg.model, optimizer, tensors, {
          lr,
          labelSmoothing: cfg.train.label_smoothing,
          seed: stepSeed(cfg.seed, state.global_step),
        });
        tf.dispose(Object.values(tensors));
        if (!Number.isFinite(result.loss)) {
          throw new UserError(
            `loss became ${result.loss} at epoch ${epoch}, step ${step + 1} (lr ${lr.toExponential(2)}); stopped without saving, ` +
              `the last good checkpoint is ${join(runDir, 'last')}. Try a lower optimizer.lr or set optimizer.grad_clip`,
          );
        }
        sums.loss_sum += result.loss * batch.size;
        sums.correct += result.correct;
        sums.seen += batch.size;
        sums.grad_norm_sum += result.gradNorm;
        state.global_step++;
        step++;
        events.step?.({
          epoch,
          step,
          steps: stepsPerEpoch,
          loss: sums.loss_sum / sums.seen,
          acc: sums.correct / sums.seen,
          lr,
          imagesPerSecond: sums.seen / ((performance.now() - epochStart) / 1000),
          etaSeconds: ((performance.now() - epochStart) / 1000 / step) * (stepsPerEpoch - step),
        });
        if (overBudget()) {
          budgetHit = true;
          break;
        }
      }
      const trainSeconds = (performance.now() - epochStart) / 1000;
      const evaluation = await evaluate(params, cfg.model, valSplit, cfg.train.eval_batch_size);
      const metrics = { val_loss: evaluation.loss, val_acc: evaluation.accuracy };
      const row: MetricsRow = {
        epoch,
        lr: schedule.lrAt(Math.max(0, state.global_step - 1)),
        train_loss: sums.loss_sum / Math.max(1, sums.seen),
        train_acc: sums.correct / Math.max(1, sums.seen),
        ...metrics,
        epoch_seconds: (performance.now() - epochStart) / 1000,
        images_per_second: sums.seen / trainSeconds,
        grad_norm: sums.grad_norm_sum / Math.max(1, step),
        elapsed_minutes: elapsedSeconds() / 60,
      };
      schedule.onEpochEnd(metrics);
      const verdict = stopper.update(metrics, epoch);
      state = {
        ...state,
        epoch,
        step_in_epoch: 0,
        partial_epoch: null,
        elapsed_seconds: elapsedSeconds(),
        schedule: schedule.getState(),
        early_stopping: stopper.getState(),
        best: verdict.improved ? { monitor: cfg.early_stopping.monitor, value: metrics[cfg.early_stopping.monitor], epoch } : state.best,
      };
      await csv.append(row);
      await save('last', metrics);
      if (verdict.improved) await save('best', metrics);
      events.epoch?.(row, { best: verdict.improved });
      if (budgetHit || (overBudget() && epoch < cfg.train.epochs)) {
        return { reason: 'time_budget', message: `time budget of ${cfg.train.max_minutes} min reached after epoch ${epoch}`, state };
      }
      if (verdict.stop) return { reason: 'early_stopping', message: verdict.reason ?? 'early stopping', state };
    }
    return { reason: 'completed', message: `completed ${cfg.train.epochs} epochs`, state };
  } finally {
    optimizer.dispose();
    tf.dispose(Object.values(params));
  }
}
