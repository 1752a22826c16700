import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type MetricsRow, readMetrics } from '../train/metrics-csv.js';
import type { TrialSpec } from './definition.js';
import type { SweepLayout } from './layout.js';
import { readCheckpointState, readOutcome } from './trial.js';
import { type TrialLock, liveLock } from './trial-lock.js';

/**
 * pending: never trained; running: a vit train holds it; stopped: interrupted with a checkpoint
 * to resume; done: its vit train ended well; failed: it ended with an error.
 */
export type TrialStateName = 'pending' | 'running' | 'stopped' | 'done' | 'failed';

export interface TrialProgress {
  trial: TrialSpec;
  state: TrialStateName;
  /** Why it failed, in one line. */
  reason: string | null;
  /** Epochs completed, of the run's length (train.epochs, or what train.fit_to_budget planned). */
  epoch: number;
  epochs: number | null;
  /** The best validation accuracy of any epoch so far (null before the first). */
  bestValAcc: number | null;
  /** Training minutes so far, over all its sessions. */
  minutes: number | null;
  lock: (TrialLock & { where: string }) | null;
  runDir: string;
}

/** What the trial's files say about it: outcome.json, running.json, metrics.csv and last/. */
export async function readTrialProgress(layout: SweepLayout, trial: TrialSpec): Promise<TrialProgress> {
  const runDir = layout.runDir(trial.id);
  const [outcome, lock, rows, state, epochs] = await Promise.all([
    readOutcome(layout, trial.id),
    liveLock(layout, trial.id),
    readMetrics(join(runDir, 'metrics.csv')).catch((): MetricsRow[] => []),
    readCheckpointState(join(runDir, 'last')),
    configuredEpochs(layout, trial.id),
  ]);
  const last = rows.at(-1);
  const valAccs = rows.map((r) => r.val_acc).filter(Number.isFinite);
  const minutes = Math.max(last?.elapsed_minutes ?? 0, (state?.elapsed_seconds ?? 0) / 60);
  const trained = rows.length > 0 || state !== null;
  const stateName: TrialStateName = outcome ? outcome.outcome : lock ? 'running' : trained ? 'stopped' : 'pending';
  return {
    trial,
    state: stateName,
    reason: outcome?.reason ?? null,
    epoch: last?.epoch ?? state?.epoch ?? 0,
    epochs: state?.planned_epochs ?? epochs,
    bestValAcc: valAccs.length ? Math.max(...valAccs) : null,
    minutes: trained ? minutes : null,
    lock,
    runDir,
  };
}

async function configuredEpochs(layout: SweepLayout, id: string): Promise<number | null> {
  try {
    const config = JSON.parse(await readFile(layout.trialConfig(id), 'utf8')) as { train?: { epochs?: number } };
    return config.train?.epochs ?? null;
  } catch {
    return null;
  }
}
