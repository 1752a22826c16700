import { z } from 'zod';
import type { EarlyStoppingConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { type ValMetrics, monitorMode } from './monitor.js';

export interface EarlyStoppingDecision {
  /** The monitored metric beat the best so far by more than min_delta: worth a best checkpoint. */
  improved: boolean;
  stop: boolean;
  /** Why training stops, for the log; set when `stop` is. */
  reason?: string;
}

const EarlyStoppingStateSchema = z.strictObject({
  best: z.number().nullable(),
  bestEpoch: z.number().int().min(0),
});
export type EarlyStoppingState = z.infer<typeof EarlyStoppingStateSchema>;

/**
 * Keras' EarlyStopping: stop once the monitored metric has gone `patience` epochs without beating
 * its best by more than `min_delta` (an absolute margin). `update` is called once per epoch, with
 * epochs numbered from 1. When disabled it never stops but still reports improvements,
 * which the trainer uses to keep the best checkpoint.
 */
export class EarlyStopping {
  private best: number;
  private bestEpoch = 0;
  private readonly mode: 'min' | 'max';

  constructor(private readonly cfg: EarlyStoppingConfig) {
    this.mode = monitorMode('early_stopping', cfg.monitor, cfg.mode);
    this.best = this.worst();
  }

  update(metrics: ValMetrics, epoch: number): EarlyStoppingDecision {
    const { monitor, min_delta, patience, enabled } = this.cfg;
    const value = metrics[monitor];
    // Written so that a NaN metric is never an improvement.
    const improved = this.mode === 'max' ? value > this.best + min_delta : value < this.best - min_delta;
    if (improved) {
      this.best = value;
      this.bestEpoch = epoch;
    }
    const epochsWithout = epoch - this.bestEpoch;
    if (!enabled || epochsWithout < patience) return { improved, stop: false };
    const best = this.bestEpoch > 0 ? `best ${+this.best.toPrecision(4)} at epoch ${this.bestEpoch}` : 'no valid value yet';
    return {
      improved,
      stop: true,
      reason: `${monitor} has not improved by more than ${min_delta} for ${epochsWithout} epochs (${best})`,
    };
  }

  /** JSON-serializable. */
  getState(): EarlyStoppingState {
    // JSON has no Infinity: "no best yet" is stored as null.
    return { best: this.bestEpoch > 0 ? this.best : null, bestEpoch: this.bestEpoch };
  }

  /** Accepts what `getState` returned, e.g. parsed from a checkpoint, and checks it. */
  setState(state: unknown): void {
    const parsed = EarlyStoppingStateSchema.safeParse(state);
    if (!parsed.success) {
      throw new UserError(`early stopping state in the checkpoint is malformed: ${z.prettifyError(parsed.error).replace(/\n/g, ' ')}`);
    }
    this.bestEpoch = parsed.data.bestEpoch;
    this.best = parsed.data.best ?? this.worst();
  }

  private worst(): number {
    return this.mode === 'min' ? Infinity : -Infinity;
  }
}
