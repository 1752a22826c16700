import type { TopLevelSpec } from 'vega-lite';
import type { MetricsRow } from '../train/metrics-csv.js';
import { CHART_CONFIG } from './render-chart.js';

/** One run's metrics.csv rows and the name its lines carry in the legend. */
export interface RunCurves {
  name: string;
  rows: MetricsRow[];
}

/**
 * Three panels against epochs: train/val loss, train/val accuracy, and the learning rate. Runs
 * are overlaid in colours; with a single run the colours tell train from val instead, and with
 * several the dash does.
 */
export function curvesSpec(runs: RunCurves[]): TopLevelSpec {
  const several = runs.length > 1;
  const points = runs.flatMap(({ name, rows }) =>
    rows.flatMap((r) => [
      { run: name, epoch: r.epoch, split: 'train', loss: r.train_loss, accuracy: r.train_acc, lr: r.lr },
      { run: name, epoch: r.epoch, split: 'val', loss: r.val_loss, accuracy: r.val_acc, lr: r.lr },
    ]),
  );
  const maxEpoch = Math.max(...points.map((p) => p.epoch));
  const epochAxis = { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { domain: [1, Math.max(2, maxEpoch)] }, axis: { tickMinStep: 1, format: 'd' } } as const;
  const colour = several
    ? { field: 'run', type: 'nominal', title: 'run', scale: { scheme: 'tableau10' } }
    : { field: 'split', type: 'nominal', title: runs[0]?.name ?? 'split', scale: { domain: ['train', 'val'], range: ['#4c78a8', '#f58518'] } };
  const dash = several ? { strokeDash: { field: 'split', type: 'nominal', title: 'split' } } : {};
  const panel = (field: 'loss' | 'accuracy', title: string, format?: string) => ({
    title,
    width: 260,
    height: 200,
    // Points would hide the dashes that tell train from val in the legend.
    mark: { type: 'line', point: !several, strokeWidth: 2 },
    encoding: {
      x: epochAxis,
      y: { field, type: 'quantitative', title, scale: { zero: false }, ...(format ? { axis: { format } } : {}) },
      color: colour,
      ...dash,
      detail: { field: 'run' },
      tooltip: [{ field: 'run' }, { field: 'split' }, { field: 'epoch' }, { field }],
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CHART_CONFIG,
    data: { values: points },
    hconcat: [
      panel('loss', 'loss'),
      panel('accuracy', 'accuracy', '.0%'),
      {
        title: 'learning rate',
        width: 260,
        height: 200,
        transform: [{ filter: "datum.split === 'train'" }],
        mark: { type: 'line', point: !several, strokeWidth: 2 },
        encoding: {
          x: epochAxis,
          y: { field: 'lr', type: 'quantitative', title: 'learning rate', axis: { format: '.1e' } },
          color: several ? colour : { value: '#54a24b' },
          detail: { field: 'run' },
        },
      },
    ],
    resolve: { scale: { color: 'shared' } },
  } as unknown as TopLevelSpec;
}
