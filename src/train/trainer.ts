import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { computeSetup } from '../backend/index.js';
import { type Checkpoint, type NamedArrays, type TrainingState, saveCheckpoint } from '../checkpoint/checkpoint.js';
import { STATE_PREFIX, isOptimizerMoment, underPrefix, withPrefix } from '../checkpoint/state-keys.js';
import { restoreVariables, snapshot } from '../checkpoint/weights.js';
import type { Config } from '../config/schema.js';
import { toTensors, trainAugmentations, trainBatches } from '../data/batches.js';
import type { Cifar10, Split } from '../data/cifar10.js';
import { prefetch } from '../data/prefetch.js';
import { selectSplits } from '../data/splits.js';
import { UserError } from '../errors.js';
import { normalizationOf } from '../data/normalize.js';
import { type Params, bufferShapes, initFromData, initParams } from '../model/index.js';
import { explainSystemError } from '../system-error.js';
import { VERSION } from '../version.js';
import { type BudgetPlan, PROBE, planFromFirstSteps, replan } from './budget.js';
import { EarlyStopping } from './early-stopping.js';
import { Ema } from './ema.js';
import { Lookahead } from './lookahead.js';
import { evaluate } from './evaluate.js';
import { MetricsCsv, type MetricsRow } from './metrics-csv.js';
import { Optimizer } from './optimizer.js';
import { type Schedule, createSchedule } from './schedule.js';
import { type SavedAt, saveFailure } from './save-failure.js';
import { epochRng, flipRng, stepSeed } from './seeds.js';
import { trainStep } from './train-step.js';

export type StopReason = 'completed' | 'early_stopping' | 'time_budget' | 'interrupted';

export interface TrainEvents {
  start?(info: { runDir: string; epoch: number; stepsPerEpoch: number; trainCount: number; valCount: number; valName: string }): void;
  step?(p: { epoch: number; epochs: number; step: number; steps: number; loss: number; acc: number; lr: number; imagesPerSecond: number; etaSeconds: number }): void;
  /**
   * `epochs`: the run's length, which `train.fit_to_budget` may have just planned (`plans`: those made in this epoch; `epochsBefore`: the length before the plan made after it).
   * A returned promise is awaited, so that what it writes (curves.png) is current before the next epoch.
   */
  epoch?(row: MetricsRow, info: { best: boolean; epochs: number; plans: BudgetPlan[]; epochsBefore: number }): unknown;
}

export interface TrainOptions {
  config: Config;
  data: Cifar10;
  runDir: string;
  backend: string;
  /** Continue from this checkpoint (its config must be `config` up to epochs/time budget). */
  resume?: Checkpoint;
  /** A fresh run's starting weights (train.init_from), checked against the model's shapes. */
  initWeights?: { arrays: NamedArrays; source: string };
  events?: TrainEvents;
  /** Abort: the current step finishes, `last/` is saved mid-epoch, and the run returns 'interrupted'. */
  signal?: AbortSignal;
  /** The clock, in milliseconds (tests replace it to make time budgets deterministic). */
  now?: () => number;
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
  const run = new TrainingRun(opts);
  try {
    return await run.execute();
  } finally {
    run.dispose();
  }
}

type EpochSums = NonNullable<TrainingState['partial_epoch']>;

/** One run's moving parts. `state` is exactly what a checkpoint needs to continue it. */
class TrainingRun {
  private readonly cfg: Config;
  private readonly splits: { train: Split; val: Split; valName: string };
  private readonly stepsPerEpoch: number;
  private readonly params: Params;
  private readonly optimizer: Optimizer;
  /** The weight average, when train.ema is on: evaluated and saved as the run's weights. */
  private readonly ema: Ema | null;
  /** train.lookahead's slow weights, when on. */
  private readonly lookahead: Lookahead | null;
  private schedule: Schedule;
  private readonly stopper: EarlyStopping;
  private state: TrainingState;
  private readonly clockStart: number;
  private readonly now: () => number;
  /** What `last/` on disk holds, for the message when a later save fails. */
  private lastSaved: SavedAt | null;

  constructor(private readonly opts: TrainOptions) {
    const cfg = (this.cfg = opts.config);
    const { train, val, test } = selectSplits(opts.data, cfg.data);
    this.splits = { train, val: val ?? test, valName: val ? 'val' : 'test' };
    this.stepsPerEpoch = Math.ceil(train.count / cfg.train.batch_size);
    this.params = initParams(cfg.model, cfg.seed);
    // Computed, not loaded: a resumed run or init_from restores its weights below instead.
    if (!opts.resume && !opts.initWeights) initFromData(this.params, cfg.model, { train, seed: cfg.seed, normalization: normalizationOf(cfg.data) });
    this.optimizer = Optimizer.forModel(this.params, cfg);
    if (!opts.resume && opts.initWeights) restoreVariables(this.params, opts.initWeights.arrays, opts.initWeights.source);
    this.ema = cfg.train.ema ? new Ema(this.params, cfg.train.ema.decay, cfg.train.ema.warmup, new Set(Object.keys(bufferShapes(cfg.model)))) : null;
    this.lookahead = cfg.train.lookahead ? new Lookahead(cfg.train.lookahead) : null;
    this.stopper = new EarlyStopping(cfg.early_stopping);
    // Checkpoints written before planned_epochs existed have none: their runs were not planned.
    this.state = { ...FRESH_STATE, ...opts.resume?.state };
    this.schedule = this.makeSchedule();
    if (opts.resume) this.restore(opts.resume);
    this.lastSaved = opts.resume ? { epoch: this.state.epoch, step_in_epoch: this.state.step_in_epoch } : null;
    this.now = opts.now ?? (() => performance.now());
    this.clockStart = this.now() - this.state.elapsed_seconds * 1000;
  }

  /** The run's length: train.epochs, or what fit_to_budget planned after the first epoch. */
  private epochs(): number {
    return this.state.planned_epochs ?? this.cfg.train.epochs;
  }

  /** The steps of a run that fit_to_budget planned shorter than one epoch (budget.ts planFromFirstSteps), else null. */
  private plannedSteps(): number | null {
    return this.state.plans?.at(-1)?.steps ?? null;
  }

  /** The run's length in steps, which the schedule spans. */
  private totalSteps(): number {
    return this.plannedSteps() ?? this.epochs() * this.stepsPerEpoch;
  }

  /** The LR schedule over the run's length; a run shorter than one epoch is its own epoch (for the warmup too). */
  private makeSchedule() {
    const { cfg } = this;
    const steps = this.plannedSteps();
    return steps === null ? createSchedule(cfg.schedule, cfg.optimizer.lr, this.stepsPerEpoch, this.epochs()) : createSchedule(cfg.schedule, cfg.optimizer.lr, steps, 1);
  }

  async execute(): Promise<TrainResult> {
    const { cfg, opts } = this;
    const csvPath = join(opts.runDir, 'metrics.csv');
    const csv = opts.resume ? await MetricsCsv.resume(csvPath, this.state.epoch) : await MetricsCsv.create(csvPath);
    opts.events?.start?.({
      runDir: opts.runDir,
      epoch: this.state.epoch,
      stepsPerEpoch: this.stepsPerEpoch,
      trainCount: this.splits.train.count,
      valCount: this.splits.val.count,
      valName: this.splits.valName,
    });

    for (let epoch = this.state.epoch + 1; epoch <= this.epochs(); epoch++) {
      const epochStart = this.now() - (this.state.partial_epoch?.seconds ?? 0) * 1000;
      const trained = await this.trainEpoch(epoch, epochStart);
      if (trained.interruptedAt !== null) {
        this.state = { ...this.snapshotState(), step_in_epoch: trained.interruptedAt, partial_epoch: trained.sums };
        await this.save('last', null);
        return { reason: 'interrupted', message: `interrupted at epoch ${epoch}, step ${trained.interruptedAt}/${this.stepsPerEpoch}`, state: this.state };
      }

      this.lookahead?.endEpoch(this.optimizer.params);
      const trainSeconds = (this.now() - epochStart) / 1000;
      const evaluation = await evaluate(this.ema?.params ?? this.params, cfg.model, this.splits.val, {
        batchSize: cfg.train.eval_batch_size,
        tta: cfg.train.eval_tta,
        normalization: normalizationOf(cfg.data),
      });
      const metrics = { val_loss: evaluation.loss, val_acc: evaluation.accuracy };
      const { sums } = trained;
      const row: MetricsRow = {
        epoch,
        lr: this.schedule.lrAt(Math.max(0, this.state.global_step - 1)),
        train_loss: sums.loss_sum / sums.seen,
        train_acc: sums.correct / sums.seen,
        ...metrics,
        epoch_seconds: (this.now() - epochStart) / 1000,
        images_per_second: sums.seen / trainSeconds,
        grad_norm: sums.grad_norm_sum / trained.steps,
        elapsed_minutes: this.elapsedSeconds() / 60,
      };
      this.schedule.onEpochEnd(metrics);
      const epochsBefore = this.epochs();
      const afterEpoch = cfg.train.fit_to_budget ? this.planAfter(epoch, row.epoch_seconds) : null;
      const plans = [trained.plan, afterEpoch].filter((p): p is BudgetPlan => p !== null);
      const verdict = this.stopper.update(metrics, epoch);
      const monitor = cfg.early_stopping.monitor;
      this.state = {
        ...this.snapshotState(),
        epoch,
        step_in_epoch: 0,
        partial_epoch: null,
        best: verdict.improved ? { monitor, value: metrics[monitor], epoch } : this.state.best,
      };
      await csv.append(row).catch((err) => {
        throw explainSystemError(err, saveFailure(csvPath, join(opts.runDir, 'last'), this.lastSaved));
      });
      await this.save('last', metrics);
      if (verdict.improved) await this.save('best', metrics);
      await opts.events?.epoch?.(row, { best: verdict.improved, epochs: this.epochs(), plans, epochsBefore });

      if (trained.budgetHit || (this.overBudget() && epoch < this.epochs())) {
        return { reason: 'time_budget', message: `time budget of ${cfg.train.max_minutes} min reached after epoch ${epoch}`, state: this.state };
      }
      if (verdict.stop) return { reason: 'early_stopping', message: verdict.reason ?? 'early stopping', state: this.state };
    }
    const steps = this.plannedSteps();
    const message = steps === null ? `completed ${this.epochs()} epoch${this.epochs() === 1 ? '' : 's'}` : `completed the ${steps} steps the time budget planned (of the first epoch's ${this.stepsPerEpoch})`;
    return { reason: 'completed', message, state: this.state };
  }

  /**
   * Plans the run's length after epoch `epoch` where budget.ts says to (the first epoch, the
   * second, an epoch whose time drifted) and restretches the schedule over it, keeping the
   * schedule's own state (plateau's counters). Returns the new plan, or null.
   */
  private planAfter(epoch: number, epochSeconds: number): BudgetPlan | null {
    const { cfg } = this;
    const plans = this.state.plans ?? [];
    // A run planned by vit 0.3 has its length but not the epoch time it assumed: it keeps its plan.
    if (plans.length === 0 && this.state.planned_epochs !== null) return null;
    const plan = replan({
      previous: plans.at(-1) ?? null,
      epoch,
      epochSeconds,
      elapsedSeconds: this.elapsedSeconds(),
      budgetSeconds: cfg.train.max_minutes! * 60,
      maxEpochs: cfg.train.epochs,
      // The warmup must end before training does (as for train.epochs in the config).
      minEpochs: Math.floor(cfg.schedule.warmup_epochs) + 1,
    });
    if (plan === null) return null;
    const lengthChanged = plan.epochs !== this.epochs();
    this.state.plans = [...plans, plan];
    this.state.planned_epochs = plan.epochs;
    if (lengthChanged) this.replaceSchedule();
    return plan;
  }

  /**
   * During the first epoch, once PROBE of the budget is spent: the run's length from its steps'
   * speed, in epochs, or in steps when not even one epoch fits (budget.ts planFromFirstSteps).
   * No run of steps with a warmup of an epoch or more, which it could not finish.
   */
  private planDuringFirstEpoch(epoch: number, step: number, epochSeconds: number): BudgetPlan | null {
    const { cfg } = this;
    const budgetSeconds = (cfg.train.max_minutes ?? 0) * 60;
    const unplanned = cfg.train.fit_to_budget && this.state.planned_epochs === null && !this.state.plans?.length;
    if (!unplanned || epoch !== 1 || step < 2 || this.elapsedSeconds() < PROBE * budgetSeconds) return null;
    const views = { none: 1, flip: 2, flip_translate: 6 }[cfg.train.eval_tta];
    const plan = planFromFirstSteps({
      step,
      epochSeconds,
      elapsedSeconds: this.elapsedSeconds(),
      budgetSeconds,
      stepsPerEpoch: this.stepsPerEpoch,
      batchSize: cfg.train.batch_size,
      evalImages: this.splits.val.count * views,
      maxEpochs: cfg.train.epochs,
      minEpochs: Math.floor(cfg.schedule.warmup_epochs) + 1,
    });
    if (plan.reason === 'steps' && cfg.schedule.warmup_epochs >= 1) return null;
    this.state.plans = [plan];
    this.state.planned_epochs = plan.epochs;
    this.replaceSchedule();
    return plan;
  }

  /** A new schedule for the planned length, keeping the schedule's own state (plateau's counters). */
  private replaceSchedule(): void {
    const scheduleState = this.schedule.getState();
    this.schedule = this.makeSchedule();
    this.schedule.setState(scheduleState);
  }

  /**
   * Trains one epoch (or the rest of an interrupted one). Stops early, after a whole step, when
   * the run is aborted (returning the step to resume at) or the time budget is spent.
   */
  private async trainEpoch(epoch: number, epochStart: number) {
    const { cfg, opts } = this;
    const sums: EpochSums = { ...(this.state.partial_epoch ?? { loss_sum: 0, correct: 0, seen: 0, seconds: 0, grad_norm_sum: 0 }) };
    let plan: BudgetPlan | null = null;
    const resumeAt = this.state.step_in_epoch;
    const batches = trainBatches(this.splits.train, {
      batchSize: cfg.train.batch_size,
      rng: epochRng(cfg.seed, epoch),
      ...trainAugmentations(cfg.data, cfg.train.label_smoothing, { epoch, count: this.splits.train.count, flipRng: flipRng(cfg.seed) }),
    });
    let step = 0;
    // A resumed mid-epoch run regenerates the epoch's batches from the same seed and skips the
    // ones already trained on: cheaper than saving the shuffle and augmentation state.
    // Each batch is built while the previous step runs (on backends that compute asynchronously).
    for await (const batch of prefetch(batches)) {
      if (step < resumeAt) {
        step++;
        continue;
      }
      if (opts.signal?.aborted) {
        return { sums: { ...sums, seconds: (this.now() - epochStart) / 1000 }, steps: step, interruptedAt: step, budgetHit: false, plan };
      }
      const lr = this.schedule.lrAt(this.state.global_step);
      const tensors = toTensors(batch);
      const result = await trainStep(this.params, cfg.model, this.optimizer, tensors, {
        lr,
        labelSmoothing: cfg.train.label_smoothing,
        seed: stepSeed(cfg.seed, this.state.global_step),
      });
      tf.dispose(Object.values(tensors));
      this.lookahead?.afterStep(this.optimizer.params, this.state.global_step + 1, this.totalSteps(), epoch);
      this.ema?.update(this.params, this.state.global_step + 1);
      if (!Number.isFinite(result.loss)) {
        throw new UserError(
          `loss became ${result.loss} at epoch ${epoch}, step ${step + 1} (lr ${lr.toExponential(2)}); stopped without saving, ` +
            `the last good checkpoint is ${join(opts.runDir, 'last')}. Try a lower optimizer.lr or set optimizer.grad_clip`,
        );
      }
      sums.loss_sum += result.loss * batch.size;
      sums.correct += result.correct;
      sums.seen += batch.size;
      sums.grad_norm_sum += result.gradNorm;
      this.state.global_step++;
      step++;
      const seconds = (this.now() - epochStart) / 1000;
      const steps = this.plannedSteps() ?? this.stepsPerEpoch;
      opts.events?.step?.({
        epoch,
        epochs: this.epochs(),
        step,
        steps,
        loss: sums.loss_sum / sums.seen,
        acc: sums.correct / sums.seen,
        lr,
        imagesPerSecond: sums.seen / seconds,
        etaSeconds: (seconds / step) * (steps - step),
      });
      // After the step's event, so that the clock has seen the whole step (tests' clocks advance in it).
      plan ??= this.planDuringFirstEpoch(epoch, step, (this.now() - epochStart) / 1000);
      if (step >= (this.plannedSteps() ?? this.stepsPerEpoch)) break; // a run planned shorter than its first epoch ends here
      // Checked after a step, so that every epoch trains at least one.
      if (this.overBudget()) return { sums, steps: step, interruptedAt: null, budgetHit: true, plan };
    }
    return { sums, steps: step, interruptedAt: null, budgetHit: false, plan };
  }

  /** The state with the current schedule, early-stopping and clock readings. */
  private snapshotState(): TrainingState {
    return {
      ...this.state,
      elapsed_seconds: this.elapsedSeconds(),
      schedule: this.schedule.getState(),
      early_stopping: this.stopper.getState(),
    };
  }

  /**
   * Loads a checkpoint's weights, optimizer, schedule and early-stopping state. With EMA on, the
   * saved weights are the average, and the raw training weights sit with the optimizer's moments
   * (STATE_PREFIX.rawWeights).
   */
  private restore(ckpt: Checkpoint): void {
    const raw = underPrefix(STATE_PREFIX.rawWeights, ckpt.optimizer);
    if (this.ema) {
      if (Object.keys(raw).length === 0) {
        throw new UserError('the checkpoint was saved without train.ema, so its raw training weights are not there to resume with train.ema on');
      }
      restoreVariables(this.ema.params, ckpt.weights, "the resumed checkpoint's weights.safetensors");
      restoreVariables(this.params, raw, `the resumed checkpoint's optimizer.safetensors (${STATE_PREFIX.rawWeights})`);
    } else {
      restoreVariables(this.params, ckpt.weights, "the resumed checkpoint's weights.safetensors");
    }
    const moments = Object.fromEntries(
      Object.entries(ckpt.optimizer)
        .filter(([n]) => isOptimizerMoment(n))
        .map(([n, a]) => [n, tf.tensor(a.data, a.shape)]),
    );
    this.optimizer.setState({ step: ckpt.state.optimizer_step, tensors: moments });
    tf.dispose(Object.values(moments));
    const slow = underPrefix(STATE_PREFIX.slowWeights, ckpt.optimizer);
    this.lookahead?.restore(this.optimizer.params, Object.keys(slow).length > 0 ? slow : null, `the resumed checkpoint's optimizer.safetensors (${STATE_PREFIX.slowWeights})`);
    this.schedule.setState(ckpt.state.schedule);
    this.stopper.setState(ckpt.state.early_stopping);
  }

  private async save(name: 'last' | 'best', metrics: Record<string, number> | null): Promise<void> {
    const moments = this.optimizer.getState();
    const ckpt: Checkpoint = {
      config: this.cfg,
      weights: await snapshot(this.ema?.params ?? this.params),
      optimizer: {
        ...(await snapshot(moments.tensors)),
        ...(this.ema ? await snapshot(withPrefix(STATE_PREFIX.rawWeights, this.params)) : {}),
        ...(this.lookahead?.weights ? await snapshot(withPrefix(STATE_PREFIX.slowWeights, this.lookahead.weights)) : {}),
      },
      state: { ...this.state, optimizer_step: moments.step },
      meta: { tool: 'vit', version: VERSION, backend: this.opts.backend, compute: computeSetup(this.opts.backend), date: new Date().toISOString(), metrics },
    };
    tf.dispose(Object.values(moments.tensors));
    const dir = join(this.opts.runDir, name);
    try {
      await saveCheckpoint(dir, ckpt);
    } catch (err) {
      throw explainSystemError(err, saveFailure(dir, join(this.opts.runDir, 'last'), this.lastSaved, name));
    }
    if (name === 'last') this.lastSaved = { epoch: this.state.epoch, step_in_epoch: this.state.step_in_epoch };
  }

  private elapsedSeconds(): number {
    return (this.now() - this.clockStart) / 1000;
  }

  private overBudget(): boolean {
    const limit = this.cfg.train.max_minutes;
    return limit !== null && this.elapsedSeconds() > limit * 60;
  }

  dispose(): void {
    this.optimizer.dispose();
    this.ema?.dispose();
    this.lookahead?.dispose();
    tf.dispose(Object.values(this.params));
  }
}

export const FRESH_STATE: TrainingState = {
  epoch: 0,
  step_in_epoch: 0,
  global_step: 0,
  optimizer_step: 0,
  elapsed_seconds: 0,
  partial_epoch: null,
  schedule: null,
  early_stopping: null,
  best: null,
  planned_epochs: null,
};
