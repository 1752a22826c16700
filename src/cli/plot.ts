import chalk from 'chalk';
import { Command } from 'commander';
import { access } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { UserError } from '../errors.js';
import { readMetrics } from '../train/metrics-csv.js';
import { type RunCurves, curvesSpec } from '../viz/curves.js';
import { checkChartPath, writeChart } from '../viz/render-chart.js';
import { runAction } from './run-action.js';

export function plotCommand(): Command {
  return new Command('plot')
    .description('draw training curves (loss, accuracy, learning rate against epochs) of one or more runs, overlaid')
    .argument('<run_dir...>', "run directories holding a metrics.csv, e.g. checkpoints/smoke")
    .option('--out <file>', 'PNG or SVG to write (by extension)', 'curves.png')
    .addHelpText('after', '\nExample:\n  vit plot checkpoints/smoke checkpoints/cpu-1h --out compare.svg')
    .action(runAction(async (dirs: string[], flags: { out: string }) => {
      checkChartPath(flags.out, '--out');
      await writeChart(flags.out, curvesSpec(await readRuns(dirs)));
      console.log(`${chalk.bold('curves')} of ${dirs.length} run${dirs.length === 1 ? '' : 's'} written to ${flags.out}`);
    }));
}

/** Each run's rows, named by its directory (the whole path where two runs share a name). */
export async function readRuns(dirs: string[]): Promise<RunCurves[]> {
  const names = dirs.map((d) => basename(resolve(d)));
  const runs: RunCurves[] = [];
  for (const [i, dir] of dirs.entries()) {
    const path = join(dir, 'metrics.csv');
    try {
      await access(path);
    } catch {
      throw new UserError(`${path}: not found (expected a run directory written by vit train)`);
    }
    const rows = (await readMetrics(path)).filter((r) => Number.isFinite(r.epoch) && Number.isFinite(r.val_acc));
    if (!rows.length) throw new UserError(`${path}: no epochs recorded yet`);
    const unique = names.filter((n) => n === names[i]).length === 1;
    runs.push({ name: unique ? names[i] : dir, rows });
  }
  return runs;
}
