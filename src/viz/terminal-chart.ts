import asciichart from 'asciichart';
import type { MetricsRow } from '../train/metrics-csv.js';

/**
 * Val accuracy per epoch as a small text chart (one column per epoch, `height` rows), for the end
 * of `vit train` in a terminal. Empty with fewer than two epochs: a single point is no curve.
 */
export function valAccuracyChart(rows: MetricsRow[], height = 8): string {
  if (rows.length < 2) return '';
  const values = rows.map((r) => 100 * r.val_acc);
  const plot = asciichart.plot(values, { height, format: (x: number) => `${x.toFixed(1).padStart(6)}% ` });
  // The first and last epoch numbers, under the chart's first and last columns.
  const firstColumn = plot.split('\n')[0].search(/[┤┼]/);
  const first = String(rows[0].epoch);
  const last = String(rows[rows.length - 1].epoch);
  const gap = Math.max(1, values.length - first.length - last.length);
  const axis = `${'epoch'.padStart(firstColumn - 1)} ${first}${' '.repeat(gap)}${last}`;
  return ['val accuracy', plot, axis].join('\n');
}
