import chalk from 'chalk';
import { writeToString } from 'fast-csv';
import { basename, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { writeChart } from '../viz/render-chart.js';
import { type Sweep, settingLabel, sweptKeys } from './definition.js';
import { type SettingResult, leaderboard } from './leaderboard.js';
import type { TrialRow } from './progress.js';
import { reportChartSpec } from './report-chart.js';
import { shellQuote } from './slurm-script.js';
import { formatTable } from './text-table.js';

const pct = (x: number | null) => (x === null ? '' : `${(100 * x).toFixed(2)}%`);
/** Fractions to 4 decimals for the CSVs: enough to rank, no float noise. */
const csvNumber = (x: number | null) => (x === null ? '' : String(Number(x.toFixed(6))));

/**
 * `vit sweep report`: the leaderboard (settings by mean best validation accuracy over their done
 * seeds, ± the standard deviation), the best setting as a `vit train` command, and leaderboard.csv,
 * trials.csv and report.png in the sweep folder. Only done trials count.
 */
export async function writeReport(sweep: Sweep, rows: TrialRow[]): Promise<string[]> {
  const { layout, file } = sweep;
  const keys = sweptKeys(file.definition);
  const results = leaderboard(rows);
  const done = rows.filter((r) => r.state === 'done').length;
  if (!results.some((r) => r.mean !== null)) {
    throw new UserError(`${layout.dir}: no trial has finished yet (${done} done of ${rows.length}): see vit sweep status ${layout.dir}`);
  }
  const seedsPer = Math.max(...results.map((r) => r.trials.length));
  const label = shortLabeller(keys);

  const header = ['rank', ...(keys.length ? keys : ['setting']), 'seeds', 'val_acc mean ± std', 'min', 'max', 'minutes'];
  const table = results.map((r, i) => [
    r.mean === null ? '-' : String(i + 1),
    ...(keys.length ? keys.map((k) => r.setting[k]) : ['(base config)']),
    `${r.accs.length}/${r.trials.length}`,
    r.mean === null ? 'no trial done' : `${pct(r.mean)} ± ${r.std === null ? '-' : (100 * r.std).toFixed(2)}`,
    pct(r.min),
    pct(r.max),
    r.minutes === null ? '' : r.minutes.toFixed(1),
  ]);
  const best = results[0];
  const command = ['vit', 'train', '--config', file.definition.config, ...Object.entries(best.setting).flatMap(([k, v]) => ['--set', `${k}=${v}`])].map(shellQuote).join(' ');

  await writeFileAtomic(layout.leaderboardCsv, await leaderboardCsv(results, keys));
  await writeFileAtomic(layout.trialsCsv, await trialsCsv(rows, keys));
  const title = `sweep ${basename(resolve(layout.dir))}: validation accuracy per setting`;
  await writeChart(layout.reportChart, reportChartSpec(results, label, title));

  const settings = results.length;
  return [
    `${layout.dir}: ${settings} setting${settings === 1 ? '' : 's'} × up to ${seedsPer} seed${seedsPer === 1 ? '' : 's'}, ${done} of ${rows.length} trials done; ` +
      'each run scored by its best epoch\'s validation accuracy, mean ± std over the seeds',
    ...formatTable(header, table, new Set([0, header.length - 4, header.length - 3, header.length - 2, header.length - 1])),
    `${chalk.bold('best')}: ${keys.length ? settingLabel(best.setting) : 'the base config'} (${pct(best.mean)}${best.std === null ? '' : ` ± ${(100 * best.std).toFixed(2)}`} over ${best.accs.length} seed${best.accs.length === 1 ? '' : 's'}); train it with:`,
    `  ${command}`,
    `wrote ${layout.leaderboardCsv}, ${layout.trialsCsv}, ${layout.reportChart}`,
  ];
}

async function leaderboardCsv(results: SettingResult[], keys: string[]): Promise<string> {
  const header = ['rank', ...keys, 'seeds_done', 'seeds', 'val_acc_mean', 'val_acc_std', 'val_acc_min', 'val_acc_max', 'minutes_mean'];
  const rows = results.map((r, i) => [
    r.mean === null ? '' : String(i + 1),
    ...keys.map((k) => r.setting[k]),
    String(r.accs.length),
    String(r.trials.length),
    ...[r.mean, r.std, r.min, r.max, r.minutes].map(csvNumber),
  ]);
  return (await writeToString([header, ...rows])) + '\n';
}

async function trialsCsv(trials: TrialRow[], keys: string[]): Promise<string> {
  const header = ['trial', ...keys, 'seed', 'state', 'epoch', 'epochs', 'best_val_acc', 'minutes', 'slurm_job', 'run_dir', 'reason'];
  const rows = trials.map((t) => [
    t.trial.id,
    ...keys.map((k) => t.trial.setting[k]),
    String(t.trial.seed),
    t.state,
    String(t.epoch),
    String(t.epochs ?? ''),
    csvNumber(t.bestValAcc),
    csvNumber(t.minutes),
    t.slurmJob ?? '',
    t.runDir,
    t.reason ?? '',
  ]);
  return (await writeToString([header, ...rows])) + '\n';
}

/** Chart labels: `lr=0.002` rather than `optimizer.lr=0.002` where the last part of each key is unique. */
function shortLabeller(keys: string[]): (setting: Record<string, string>) => string {
  const last = keys.map((k) => k.split('.').at(-1)!);
  const short = new Set(last).size === last.length;
  return (setting) => (keys.length ? keys.map((k, i) => `${short ? last[i] : k}=${setting[k]}`).join(' ') : 'base config');
}
