import { z } from 'zod';
import type { ScheduleConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { type ValMetrics, monitorMode } from './monitor.js';

export interface Schedule {
  /** The learning rate for optimizer step `step`, counted from 0 at the start of training. */
  lrAt(step: number): number;
  /** Called after each epoch's validation; only `plateau` reacts. */
  onEpochEnd(metrics: ValMetrics): void;
  /** JSON-serializable. */
  getState(): ScheduleState;
  /** Accepts what `getState` returned, e.g. parsed from a checkpoint, and checks it. */
  setState(state: unknown): void;
}

const PlateauStateSchema = z.strictObject({
  name: z.literal('plateau'),
  lr: z.number().positive(),
  best: z.number().nullable(),
  badEpochs: z.number().int().min(0),
  cooldownLeft: z.number().int().min(0),
});
const ScheduleStateSchema = z.discriminatedUnion('name', [
  z.strictObject({ name: z.enum(['cosine', 'step', 'constant']) }),
  PlateauStateSchema,
]);
export type ScheduleState = z.infer<typeof ScheduleStateSchema>;
type PlateauState = z.infer<typeof PlateauStateSchema>;

/**
 * The learning-rate schedule `cfg.name` for a run of `epochs` epochs of `stepsPerEpoch` steps.
 *
 * cosine, step and constant start with a linear warmup over `warmup_epochs` (rounded to whole
 * steps): step s of W uses baseLr·(s+1)/W, so the first step already moves and step W−1 reaches
 * baseLr. After it:
 * - cosine: min_lr + ½(baseLr − min_lr)(1 + cos(π·t/T)), t and T counted in steps after warmup
 *   (PyTorch's CosineAnnealingLR, per step); it reaches min_lr when training ends;
 * - step: baseLr·gamma^⌊epoch/step_epochs⌋ (PyTorch's StepLR, epochs counted from the start of
 *   training), never below min_lr;
 * - constant: baseLr.
 * plateau is PyTorch's ReduceLROnPlateau and has no warmup.
 */
export function createSchedule(cfg: ScheduleConfig, baseLr: number, stepsPerEpoch: number, epochs: number): Schedule {
  if (cfg.name === 'plateau') {
    if (cfg.warmup_epochs > 0) {
      throw new UserError(`schedule.warmup_epochs must be 0 for the plateau schedule, got ${cfg.warmup_epochs}`);
    }
    return new PlateauSchedule(cfg, baseLr);
  }
  const warmupSteps = Math.round(cfg.warmup_epochs * stepsPerEpoch);
  const totalSteps = epochs * stepsPerEpoch;
  if (warmupSteps >= totalSteps) {
    throw new UserError(`schedule.warmup_epochs (${cfg.warmup_epochs}) must end before the ${epochs} epochs of training do`);
  }
  const decaySteps = totalSteps - warmupSteps;
  const afterWarmup = {
    cosine: (step: number) => {
      const progress = Math.min((step - warmupSteps) / decaySteps, 1);
      return cfg.min_lr + 0.5 * (baseLr - cfg.min_lr) * (1 + Math.cos(Math.PI * progress));
    },
    step: (step: number) => {
      const epoch = Math.floor(step / stepsPerEpoch);
      return Math.max(baseLr * cfg.gamma ** Math.floor(epoch / cfg.step_epochs), cfg.min_lr);
    },
    constant: () => baseLr,
  }[cfg.name];
  const name = cfg.name;
  return {
    lrAt: (step) => (step < warmupSteps ? (baseLr * (step + 1)) / warmupSteps : afterWarmup(step)),
    onEpochEnd: () => {},
    getState: () => ({ name }),
    setState: (state) => {
      parseState(state, name);
    },
  };
}

/**
 * PyTorch's ReduceLROnPlateau, stepped once per epoch: when the monitored metric has not improved
 * on the best so far by more than a relative `threshold` for more than `patience` epochs, the LR
 * is multiplied by `factor` (not below `min_lr`), then `cooldown` epochs pass in which bad epochs
 * are not counted.
 */
class PlateauSchedule implements Schedule {
  private lr: number;
  private best: number;
  private badEpochs = 0;
  private cooldownLeft = 0;
  private readonly mode: 'min' | 'max';

  constructor(
    private readonly cfg: ScheduleConfig,
    baseLr: number,
  ) {
    this.mode = monitorMode('schedule', cfg.monitor, cfg.mode);
    this.lr = baseLr;
    this.best = this.worst();
  }

  lrAt(): number {
    return this.lr;
  }

  onEpochEnd(metrics: ValMetrics): void {
    const value = metrics[this.cfg.monitor];
    if (this.isImprovement(value)) {
      this.best = value;
      this.badEpochs = 0;
    } else {
      this.badEpochs += 1;
    }
    if (this.cooldownLeft > 0) {
      this.cooldownLeft -= 1;
      this.badEpochs = 0;
    }
    if (this.badEpochs > this.cfg.patience) {
      const reduced = Math.max(this.lr * this.cfg.factor, this.cfg.min_lr);
      // PyTorch's eps: a reduction too small to matter (already at min_lr) is skipped.
      if (this.lr - reduced > 1e-8) this.lr = reduced;
      this.cooldownLeft = this.cfg.cooldown;
      this.badEpochs = 0;
    }
  }

  getState(): ScheduleState {
    // JSON has no Infinity: "no best yet" is stored as null.
    const best = Number.isFinite(this.best) ? this.best : null;
    return { name: 'plateau', lr: this.lr, best, badEpochs: this.badEpochs, cooldownLeft: this.cooldownLeft };
  }

  setState(state: unknown): void {
    const parsed = parseState(state, 'plateau') as PlateauState;
    this.lr = parsed.lr;
    this.best = parsed.best ?? this.worst();
    this.badEpochs = parsed.badEpochs;
    this.cooldownLeft = parsed.cooldownLeft;
  }

  /** PyTorch's 'rel' threshold mode. A NaN metric is never an improvement. */
  private isImprovement(value: number): boolean {
    const { threshold } = this.cfg;
    return this.mode === 'min' ? value < this.best * (1 - threshold) : value > this.best * (1 + threshold);
  }

  private worst(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }
}

function parseState(state: unknown, expectedName: ScheduleConfig['name']): ScheduleState {
  const parsed = ScheduleStateSchema.safeParse(state);
  if (!parsed.success) {
    throw new UserError(`schedule state in the checkpoint is malformed: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`);
  }
  if (parsed.data.name !== expectedName) {
    throw new UserError(`the checkpoint was saved with schedule.name '${parsed.data.name}', the config has '${expectedName}'`);
  }
  return parsed.data;
}
