import chalk from 'chalk';
import { type Sweep, sweptKeys } from './definition.js';
import type { TrialRow } from './progress.js';
import { type Cell, formatTable } from './text-table.js';
import type { TrialStateName } from './trial-state.js';

const PAINT: Record<TrialStateName, (s: string) => string> = {
  pending: (s) => s,
  running: chalk.cyan,
  stopped: chalk.yellow,
  done: chalk.green,
  failed: chalk.red,
};

/**
 * `vit sweep status`: a count per state, then one row per trial (its setting and seed, state,
 * Slurm's state and job id when it was submitted there, epochs, best validation accuracy,
 * training minutes), then the reason of each failed trial.
 */
export function statusLines(sweep: Sweep, rows: TrialRow[]): string[] {
  const keys = sweptKeys(sweep.file.definition);
  const slurm = rows.some((r) => r.slurmJob !== null);
  const header = ['trial', ...keys, 'seed', 'state', ...(slurm ? ['slurm'] : []), 'epoch', 'best val_acc', 'minutes'];
  const table = rows.map((r): Cell[] => [
    r.trial.id,
    ...keys.map((k) => r.trial.setting[k] ?? ''),
    String(r.trial.seed),
    { text: r.state, paint: PAINT[r.state] },
    ...(slurm ? [r.slurmJob ? `${r.slurm?.state ?? '?'} ${r.slurmJob}` : '-'] : []),
    `${r.epoch}/${r.epochs ?? '?'}`,
    r.bestValAcc === null ? '-' : `${(100 * r.bestValAcc).toFixed(2)}%`,
    r.minutes === null ? '-' : r.minutes.toFixed(1),
  ]);
  const numeric = new Set([header.length - 3, header.length - 2, header.length - 1]);
  const counts = (['done', 'running', 'stopped', 'failed', 'pending'] as const)
    .map((s) => [s, rows.filter((r) => r.state === s).length] as const)
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${n} ${s}`);
  const failed = rows.filter((r) => r.state === 'failed').map((r) => `${chalk.red(`${r.trial.id} failed:`)} ${r.reason ?? 'no reason recorded'}`);
  return [`${sweep.layout.dir}: ${rows.length} trials of ${sweep.file.definition.config}: ${counts.join(', ')}`, ...formatTable(header, table, numeric), ...failed];
}
