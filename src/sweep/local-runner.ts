import chalk from 'chalk';
import { availableParallelism } from 'node:os';
import { ensureDatasets } from '../data/download.js';
import { type Sweep, type TrialSpec, settingLabel, trialDatasets } from './definition.js';
import { type TrialEnd, type TrialRun, resumedAt, startTrial } from './trial.js';
import { sweepProgress } from './progress.js';
import { ACTIVE_STATES } from './slurm-queue.js';
import { readTrialProgress } from './trial-state.js';

export interface LocalRunOptions {
  /** Trials trained at the same time. */
  parallel: number;
  dataDir: string;
}

export interface LocalRunSummary {
  done: number;
  failed: number;
  /** Trials left to run: stopped by Ctrl-C, never started, or held by another runner. */
  unfinished: number;
  interrupted: boolean;
}

/**
 * Trains the sweep's unfinished trials on this machine, `parallel` at a time, each a `vit train`
 * child with cores / parallel threads (VIT_NUM_THREADS, read by the native kernels). Done trials
 * are skipped, stopped ones resume from last/, failed ones are tried again. Ctrl-C (or SIGTERM)
 * starts no new trial and has the running ones finish their step and save last/; a second
 * Ctrl-C stops them at once, as it does a single `vit train`.
 */
export async function runLocally(sweep: Sweep, opts: LocalRunOptions): Promise<LocalRunSummary> {
  const { layout, file } = sweep;
  const progress = await sweepProgress(sweep);
  const done = progress.filter((p) => p.state === 'done').length;
  // Trials another runner trains, or that Slurm has queued: left to them.
  const elsewhere = progress.filter((p) => p.state === 'running' || ACTIVE_STATES.has(p.slurm?.state ?? ''));
  const queue = progress.filter((p) => p.state !== 'done' && !elsewhere.includes(p)).map((p) => p.trial);
  const total = file.trials.length;
  const summary: LocalRunSummary = { done, failed: 0, unfinished: queue.length + elsewhere.length, interrupted: false };

  const head = `${layout.dir}: ${total} trial${total === 1 ? '' : 's'}, ${done} done`;
  const busy = elsewhere.length ? `, ${elsewhere.length} running or queued elsewhere (${elsewhere.map((p) => p.trial.id).join(', ')})` : '';
  if (queue.length === 0) {
    console.log(`${head}${busy}: nothing to run`);
    return summary;
  }
  await ensureDatasets(opts.dataDir, trialDatasets(sweep)); // once, here: not a download per trial

  const cores = availableParallelism();
  const parallel = Math.min(opts.parallel, queue.length);
  const threads = Math.max(1, Math.floor(cores / parallel));
  const resuming = progress.filter((p) => p.state === 'stopped').length;
  const retrying = progress.filter((p) => p.state === 'failed').length;
  const plan = [`${queue.length} to run`, resuming && `${resuming} resume${resuming === 1 ? 's' : ''} from last/`, retrying && `${retrying} failed before, tried again`].filter(Boolean).join(', ');
  const split =
    parallel > cores
      ? `${parallel} at a time on ${cores} cores: 1 thread each, the cores shared (VIT_NUM_THREADS=1)`
      : `${parallel} at a time, ${threads} of ${cores} cores each (VIT_NUM_THREADS=${threads})`;
  console.log(`${head}${busy}; ${plan}; ${split}`);

  const running = new Map<string, TrialRun>();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signal === 'SIGINT' && ++interrupts > 1) {
      // A second Ctrl-C: the trials in this terminal got it too and quit; make sure of it.
      for (const run of running.values()) run.stop('SIGKILL');
      process.exit(130);
    }
    if (summary.interrupted) return;
    summary.interrupted = true;
    process.stderr.write(`\n${chalk.yellow(`${signal}: starting no new trial; the ${running.size} running finish their step and save last/ (Ctrl-C again to quit now)`)}\n`);
    for (const run of running.values()) run.stop('SIGTERM');
  };
  process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  try {
    await new Promise<void>((resolve, reject) => {
      let active = 0; // counted here, not in `running`: a trial enters that only once started
      const launchNext = (): void => {
        while (!summary.interrupted && active < parallel && queue.length > 0) {
          active++;
          launch(queue.shift()!).then(() => {
            active--;
            launchNext();
          }, reject);
        }
        if (active === 0) resolve();
      };
      const launch = async (trial: TrialSpec): Promise<void> => {
        const prefix = chalk.bold(trial.id);
        const run = await startTrial(sweep, trial, {
          dataDir: opts.dataDir,
          threads,
          slurmJob: null,
          onLine: (line) => {
            if (/^epoch \d+\/\d+/.test(line)) console.log(`${prefix} ${line}`);
          },
        });
        running.set(trial.id, run);
        const from = run.resumeFrom ? `resume ${resumedAt(run.resumeFrom)}` : 'start';
        if (!summary.interrupted) console.log(`${prefix} ${from}  ${settingLabel({ ...trial.setting, seed: String(trial.seed) })}`);
        else run.stop('SIGTERM'); // Ctrl-C came while it was starting
        const end = await run.ended;
        running.delete(trial.id);
        await report(trial, end);
      };
      const report = async (trial: TrialSpec, end: TrialEnd): Promise<void> => {
        const prefix = chalk.bold(trial.id);
        if (end.outcome === 'done') {
          summary.done++;
          summary.unfinished--;
          const p = await readTrialProgress(sweep.layout, trial);
          const acc = p.bestValAcc === null ? 'no validation' : `best val_acc ${(100 * p.bestValAcc).toFixed(2)}%`;
          console.log(`${prefix} ${chalk.green('done')}   ${acc} (${p.epoch} epoch${p.epoch === 1 ? '' : 's'}, ${(p.minutes ?? 0).toFixed(1)} min)`);
        } else if (end.outcome === 'failed') {
          summary.failed++;
          summary.unfinished--;
          console.log(`${prefix} ${chalk.red('failed')} ${end.reason} (log: ${sweep.layout.trainLog(trial.id)})`);
        } else if (end.outcome === 'stopped') {
          console.log(`${prefix} ${chalk.yellow('stopped')}; resumes from its last/ with: vit sweep run ${sweep.layout.dir}`);
        } else {
          console.log(`${prefix} skipped: running elsewhere (${end.heldBy})`);
        }
      };
      launchNext();
    });
  } finally {
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
  }
  const left = summary.unfinished ? `, ${summary.unfinished} unfinished` : '';
  console.log(`${layout.dir}: ${summary.done} of ${total} done, ${summary.failed} failed${left}; vit sweep status ${layout.dir} · vit sweep report ${layout.dir}`);
  return summary;
}
