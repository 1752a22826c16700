import chalk from 'chalk';
import { join } from 'node:path';
import { readMetrics } from '../train/metrics-csv.js';
import { curvesSpec } from '../viz/curves.js';
import { writeChart } from '../viz/render-chart.js';
import { valAccuracyChart } from '../viz/terminal-chart.js';

/**
 * Redraws `runDir/curves.png` from its metrics.csv (so a resumed run's picture has every epoch).
 * A picture that fails to draw is a warning, never the end of a training run.
 */
export async function writeRunCurves(runDir: string, runName: string): Promise<void> {
  try {
    const rows = await readMetrics(join(runDir, 'metrics.csv'));
    await writeChart(join(runDir, 'curves.png'), curvesSpec([{ name: runName, rows }]));
  } catch (err) {
    process.stderr.write(`${chalk.yellow('warning:')} could not draw ${join(runDir, 'curves.png')}: ${(err as Error).message}\n`);
  }
}

/** The val-accuracy chart for the end of a run, printed only when a person is watching. */
export async function printValAccuracyChart(runDir: string): Promise<void> {
  if (!process.stdout.isTTY) return;
  const chart = valAccuracyChart(await readMetrics(join(runDir, 'metrics.csv')));
  if (chart) console.log(chart);
}
