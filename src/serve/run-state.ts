import type { Config } from '../config/schema.js';
import type { MetricsRow } from '../train/metrics-csv.js';

export type RunState = 'live' | 'finished' | 'stopped';

/** What `last/state.json` says about where training stands (the fields this reads; see checkpoint.ts). */
export interface LastState {
  epoch: number;
  step_in_epoch?: number;
  elapsed_seconds?: number;
  planned_epochs?: number | null;
  early_stopping?: { bestEpoch?: number } | null;
}

/** A run that has not finished its first epoch counts as live for this long after it started. */
const FIRST_EPOCH_GRACE_MS = 60 * 60 * 1000;
/** Beyond the slowest epoch so far: the evaluation, the checkpoint write and the machine's hiccups. */
const EPOCH_SLACK_MS = 2 * 60 * 1000;

/**
 * A run folder does not say whether a process is still training into it, so the state is read
 * from what the folder does say:
 * - finished: `last/` is at the planned last epoch, or early stopping's or the time budget's
 *   condition holds there (the reason says which);
 * - live: otherwise, if metrics.csv or last/ changed within twice the slowest epoch plus two
 *   minutes (an hour before the first epoch ends);
 * - stopped: otherwise (Ctrl-C, a crash, a killed job: `vit train --resume` continues it).
 */
export function runState(input: {
  config: Config | null;
  rows: MetricsRow[];
  last: LastState | null;
  lastActivityMs: number;
  nowMs: number;
}): { state: RunState; reason: string; plannedEpochs: number | null } {
  const { config, rows, last, lastActivityMs, nowMs } = input;
  const plannedEpochs = last?.planned_epochs ?? config?.train.epochs ?? null;
  const epoch = last?.epoch ?? 0;
  const midEpoch = (last?.step_in_epoch ?? 0) > 0;
  if (config && last && !midEpoch) {
    if (plannedEpochs !== null && epoch >= plannedEpochs) return { state: 'finished', reason: `completed ${epoch} epochs`, plannedEpochs };
    const { enabled, patience } = config.early_stopping;
    const bestEpoch = last.early_stopping?.bestEpoch ?? 0;
    if (enabled && epoch > 0 && epoch - bestEpoch >= patience) return { state: 'finished', reason: `early stopping after epoch ${epoch}`, plannedEpochs };
    const budget = config.train.max_minutes;
    if (budget !== null && (last.elapsed_seconds ?? 0) >= budget * 60) return { state: 'finished', reason: `time budget of ${budget} min reached`, plannedEpochs };
  }
  const slowest = Math.max(0, ...rows.map((r) => (Number.isFinite(r.epoch_seconds) ? r.epoch_seconds : 0)));
  const window = rows.length ? 2 * slowest * 1000 + EPOCH_SLACK_MS : FIRST_EPOCH_GRACE_MS;
  if (nowMs - lastActivityMs < window) return { state: 'live', reason: rows.length ? `epoch ${rows.length} done` : 'first epoch running', plannedEpochs };
  return { state: 'stopped', reason: midEpoch ? `interrupted in epoch ${epoch + 1}` : `stopped after epoch ${epoch}`, plannedEpochs };
}
