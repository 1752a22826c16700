import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { access, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { TrainingState } from '../checkpoint/checkpoint.js';
import { readableDir, removeTree, writeFileAtomic } from '../util/atomic.js';
import type { Sweep, TrialSpec } from './definition.js';
import type { SweepLayout } from './layout.js';
import { vitCommand } from './self-command.js';
import { acquireLock } from './trial-lock.js';

/** trials/NNN/outcome.json: how the trial's training ended, once it has. */
export interface TrialOutcome {
  outcome: 'done' | 'failed';
  /** For a failed trial: the one line that says why (vit train's `error:` line, or how it died). */
  reason: string | null;
  exit_code: number | null;
  signal: string | null;
  finished: string;
  host: string;
  slurm_job: string | null;
}

export type TrialEnd =
  | { outcome: 'done' }
  | { outcome: 'failed'; reason: string }
  /** Interrupted: vit train saved last/ (or had not started training), and resumes from there. */
  | { outcome: 'stopped' }
  /** Another process holds the trial's lock. */
  | { outcome: 'busy'; heldBy: string };

export interface TrialRunOptions {
  dataDir: string;
  /** VIT_NUM_THREADS for vit train (the native kernels' thread pool); null: as inherited. */
  threads: number | null;
  /** `<array job>_<task>` when a Slurm array task runs the trial. */
  slurmJob: string | null;
  /** Each line vit train writes to stdout (its per-epoch summary lines among them). */
  onLine?: (line: string) => void;
}

export interface TrialRun {
  /** Where it starts from: null for a fresh start, else the checkpoint it resumes. */
  resumeFrom: { path: string; epoch: number; step: number } | null;
  /** Resolves once vit train has ended and the outcome is recorded. */
  ended: Promise<TrialEnd>;
  /**
   * SIGTERM (the default) asks vit train to finish its step and save last/, and sending it again
   * is harmless; SIGKILL stops it at once.
   */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): void;
}

/**
 * Runs `vit train` on one trial, as a child process whose output is appended to the trial's
 * train.log: from trials/NNN/config.json into checkpoints/NNN the first time, with `--resume
 * checkpoints/NNN/last` when that checkpoint exists (an interrupted or requeued trial), so the run
 * continues exactly. A run folder without a checkpoint (stopped before its first step) holds nothing
 * to keep and starts over. The local runner and each Slurm task (`vit sweep trial`) both run trials
 * through here.
 */
export async function startTrial(sweep: Sweep, trial: TrialSpec, opts: TrialRunOptions): Promise<TrialRun> {
  const { layout } = sweep;
  const lock = await acquireLock(layout, trial.id, opts.slurmJob);
  if ('heldBy' in lock) return { resumeFrom: null, ended: Promise.resolve({ outcome: 'busy', heldBy: lock.heldBy }), stop: () => undefined };

  try {
    await rm(layout.outcomeFile(trial.id), { force: true });
    const resumeFrom = await resumePoint(layout, trial.id);
    if (!resumeFrom) await removeTree(layout.runDir(trial.id));
    const trainArgs = resumeFrom
      ? ['--resume', resumeFrom.path]
      : ['--config', layout.trialConfig(trial.id), '--set', `checkpoint_dir=${layout.checkpointDir}`, '--set', `run_name=${trial.id}`];
    const [command, ...args] = [...vitCommand(), 'train', ...trainArgs, '--data-dir', opts.dataDir];

    const log = createWriteStream(layout.trainLog(trial.id), { flags: 'a' });
    const how = resumeFrom ? `resuming ${resumeFrom.path} (${resumedAt(resumeFrom)})` : 'starting';
    log.write(`=== ${new Date().toISOString()} ${how} on ${hostname()}${opts.slurmJob ? `, Slurm job ${opts.slurmJob}` : ''}: vit train ${trainArgs.join(' ')}\n`);
    const env = { ...process.env, ...(opts.threads === null ? {} : { VIT_NUM_THREADS: String(opts.threads) }) };
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env });
    let stopping = false;
    const stderrTail: string[] = [];
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    createInterface({ input: child.stdout }).on('line', (line) => opts.onLine?.(line));
    createInterface({ input: child.stderr }).on('line', (line) => {
      stderrTail.push(line);
      if (stderrTail.length > 200) stderrTail.shift();
    });

    const ended = new Promise<TrialEnd>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (code, signal) => {
        const end: TrialEnd =
          code === 0
            ? { outcome: 'done' }
            : code === 130 || (signal !== null && stopping)
              ? { outcome: 'stopped' }
              : { outcome: 'failed', reason: failureReason(stderrTail, code, signal) };
        log.end(`=== ${new Date().toISOString()} ${end.outcome}${end.outcome === 'failed' ? `: ${end.reason}` : ''}\n`, () => resolve(end));
      });
    })
      .then(async (end) => {
        if (end.outcome === 'done' || end.outcome === 'failed') await recordOutcome(layout, trial.id, end, opts.slurmJob, child);
        return end;
      })
      .finally(() => lock.release());
    return {
      resumeFrom,
      ended,
      stop: (signal = 'SIGTERM') => {
        stopping = true;
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      },
    };
  } catch (err) {
    await lock.release();
    throw err;
  }
}

/** The checkpoint to resume the trial from: checkpoints/NNN/last when it holds one. */
export async function resumePoint(layout: SweepLayout, id: string): Promise<{ path: string; epoch: number; step: number } | null> {
  const path = join(layout.runDir(id), 'last');
  const state = await readCheckpointState(path);
  return state ? { path, epoch: state.epoch, step: state.step_in_epoch } : null;
}

/** `after epoch 2`, or `in epoch 3 at step 57` for a checkpoint taken mid-epoch. */
export function resumedAt(from: { epoch: number; step: number }): string {
  return from.step === 0 ? `after epoch ${from.epoch}` : `in epoch ${from.epoch + 1} at step ${from.step}`;
}

/** state.json of a checkpoint (found where a crash mid-save may have set it aside), or null. */
export async function readCheckpointState(path: string): Promise<TrainingState | null> {
  const dir = await readableDir(path);
  try {
    await access(join(dir, 'weights.safetensors'));
    return JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as TrainingState;
  } catch {
    return null;
  }
}

/** The one line that says why vit train failed. */
function failureReason(stderr: string[], code: number | null, signal: NodeJS.Signals | null): string {
  const errorLine = [...stderr].reverse().find((l) => l.startsWith('error: '));
  if (errorLine) return errorLine.slice('error: '.length);
  if (signal) return `vit train was killed by ${signal}`;
  // A bug (exit 70) prints its stack trace: its first line names the error.
  const first = stderr.find((l) => l.trim() !== '');
  return `vit train exited with code ${code}${first ? `: ${first.trim()}` : ''}`;
}

async function recordOutcome(layout: SweepLayout, id: string, end: TrialEnd, slurmJob: string | null, child: { exitCode: number | null; signalCode: string | null }) {
  const outcome: TrialOutcome = {
    outcome: end.outcome === 'done' ? 'done' : 'failed',
    reason: end.outcome === 'failed' ? end.reason : null,
    exit_code: child.exitCode,
    signal: child.signalCode,
    finished: new Date().toISOString(),
    host: hostname(),
    slurm_job: slurmJob,
  };
  await writeFileAtomic(layout.outcomeFile(id), JSON.stringify(outcome, null, 2) + '\n');
}

export async function readOutcome(layout: SweepLayout, id: string): Promise<TrialOutcome | null> {
  try {
    return JSON.parse(await readFile(layout.outcomeFile(id), 'utf8')) as TrialOutcome;
  } catch {
    return null;
  }
}
