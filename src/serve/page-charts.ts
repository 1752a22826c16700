import type { TopLevelSpec } from 'vega-lite';
import type { MetricsRow } from '../train/metrics-csv.js';
import type { Leaderboard } from './sweep-leaderboard.js';
import { CHART_CONFIG } from '../viz/render-chart.js';

export type CurvesAxis = 'epoch' | 'minutes';

/**
 * The Curves view: loss, accuracy and learning rate of several runs, overlaid, against epochs or
 * wall-clock minutes (metrics.csv's elapsed_minutes). Colour tells runs apart, the dash train
 * from val; every epoch is a point with a tooltip (the page is for reading values off).
 */
export function pageCurvesSpec(runs: { name: string; rows: MetricsRow[] }[], axis: CurvesAxis): TopLevelSpec {
  const points = runs.flatMap(({ name, rows }) =>
    rows.flatMap((r) => [
      { run: name, epoch: r.epoch, minutes: r.elapsed_minutes, split: 'train', loss: r.train_loss, accuracy: r.train_acc, lr: r.lr },
      { run: name, epoch: r.epoch, minutes: r.elapsed_minutes, split: 'val', loss: r.val_loss, accuracy: r.val_acc, lr: r.lr },
    ]),
  );
  const x =
    axis === 'epoch'
      ? { field: 'epoch', type: 'quantitative', title: 'epoch', axis: { tickMinStep: 1, format: 'd' } }
      : { field: 'minutes', type: 'quantitative', title: 'wall-clock minutes', axis: { format: '.0f' } };
  const colour = { field: 'run', type: 'nominal', title: 'run', scale: { scheme: 'tableau10', domain: runs.map((r) => r.name) }, legend: { orient: 'bottom', columns: 3, labelLimit: 320 } };
  const dash = { field: 'split', type: 'nominal', title: 'split', scale: { domain: ['train', 'val'] }, legend: { orient: 'bottom', symbolType: 'stroke', symbolStrokeWidth: 2, symbolSize: 240, encode: { symbols: { update: { stroke: { value: '#444' } } } } } };
  const panel = (field: 'loss' | 'accuracy' | 'lr', title: string, format: string, onlyTrain = false) => ({
    title,
    width: 300,
    height: 220,
    ...(onlyTrain ? { transform: [{ filter: "datum.split === 'train'" }] } : {}),
    mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 22 } },
    encoding: {
      x,
      y: { field, type: 'quantitative', title, scale: { zero: false }, axis: { format } },
      color: colour,
      ...(onlyTrain ? {} : { strokeDash: dash }),
      detail: { field: 'split' },
      tooltip: [
        { field: 'run' },
        ...(onlyTrain ? [] : [{ field: 'split' }]),
        { field: 'epoch' },
        { field: 'minutes', format: '.1f' },
        { field, format: field === 'lr' ? '.2e' : '.4f', title },
      ],
    },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CHART_CONFIG,
    data: { values: points },
    hconcat: [panel('loss', 'loss', '.2f'), panel('accuracy', 'accuracy', '.0%'), panel('lr', 'learning rate', '.1e', true)],
    resolve: { scale: { color: 'shared', strokeDash: 'shared' } },
  } as unknown as TopLevelSpec;
}

/** Per-class test accuracy as bars, worst class first. */
export function perClassSpec(classes: string[], perClass: number[]): TopLevelSpec {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CHART_CONFIG,
    title: 'per-class accuracy',
    data: { values: classes.map((c, i) => ({ class: c, accuracy: perClass[i] })) },
    width: 260,
    height: { step: 22 },
    mark: { type: 'bar', color: '#4c78a8' },
    encoding: {
      y: { field: 'class', type: 'nominal', sort: '-x', title: null },
      x: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '.0%' }, title: 'accuracy' },
      tooltip: [{ field: 'class' }, { field: 'accuracy', format: '.2%' }],
    },
  } as unknown as TopLevelSpec;
}

/** A sweep's settings, best first: each trial's best val accuracy as a dot, the mean ± std as a bar. */
export function leaderboardSpec(board: Leaderboard): TopLevelSpec {
  const label = (settings: Record<string, unknown>) => board.keys.map((k) => `${k}=${JSON.stringify(settings[k])}`).join(' ') || 'all trials';
  const order = board.rows.map((r) => label(r.settings));
  const means = board.rows.filter((r) => r.meanVal !== null).map((r) => ({ setting: label(r.settings), mean: r.meanVal, lo: r.meanVal! - (r.stdVal ?? 0), hi: r.meanVal! + (r.stdVal ?? 0), n: r.trials.length }));
  const trials = board.rows.flatMap((r) => r.trials.map((id, i) => ({ setting: label(r.settings), trial: id, val: r.trialVals[i] })).filter((t) => t.val !== null));
  const y = { field: 'setting', type: 'nominal', sort: order, title: null, axis: { labelLimit: 360 } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: CHART_CONFIG,
    title: 'best val accuracy per setting (dots: trials; bar: mean ± std)',
    width: 420,
    height: { step: 28 },
    layer: [
      { data: { values: means }, mark: { type: 'rule', strokeWidth: 3, color: '#9db6d3' }, encoding: { y, x: { field: 'lo', type: 'quantitative', scale: { zero: false }, axis: { format: '.1%' }, title: 'best val accuracy' }, x2: { field: 'hi' } } },
      { data: { values: means }, mark: { type: 'tick', color: '#1f3b5c', thickness: 2, size: 18 }, encoding: { y, x: { field: 'mean', type: 'quantitative' }, tooltip: [{ field: 'setting' }, { field: 'mean', format: '.2%' }, { field: 'n', title: 'trials' }] } },
      { data: { values: trials }, mark: { type: 'point', filled: true, size: 50, color: '#f58518', opacity: 0.85 }, encoding: { y, x: { field: 'val', type: 'quantitative' }, tooltip: [{ field: 'trial' }, { field: 'val', format: '.2%', title: 'best val' }] } },
    ],
  } as unknown as TopLevelSpec;
}
