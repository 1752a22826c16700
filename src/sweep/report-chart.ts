import type { TopLevelSpec } from 'vega-lite';
import { CHART_CONFIG } from '../viz/render-chart.js';
import type { SettingResult } from './leaderboard.js';

/**
 * Validation accuracy per setting, best first: each seed's run as a dot, the mean as a tick with a
 * bar of ± one standard deviation over the seeds.
 */
export function reportChartSpec(results: SettingResult[], label: (setting: Record<string, string>) => string, title: string): TopLevelSpec {
  const ranked = results.filter((r) => r.mean !== null);
  const order = ranked.map((r) => label(r.setting));
  const runs = ranked.flatMap((r) => r.trials.filter((t) => t.state === 'done' && t.bestValAcc !== null).map((t) => ({ setting: label(r.setting), seed: t.trial.seed, acc: 100 * t.bestValAcc! })));
  const summary = ranked.map((r) => {
    const std = 100 * (r.std ?? 0);
    return { setting: label(r.setting), mean: 100 * r.mean!, lo: Math.max(0, 100 * r.mean! - std), hi: Math.min(100, 100 * r.mean! + std) };
  });
  const x = {
    field: 'setting',
    type: 'nominal',
    title: null,
    sort: order,
    axis: { labelAngle: order.some((o) => o.length > 12) ? -30 : 0, labelLimit: 240 },
  };
  const y = { type: 'quantitative', title: 'best validation accuracy (%)', scale: { zero: false } };
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: title, subtitle: 'dots: the seeds\' runs (best epoch of each); tick and bar: mean ± one standard deviation' },
    config: CHART_CONFIG,
    width: Math.max(360, 70 * order.length),
    height: 260,
    layer: [
      { data: { values: summary }, mark: { type: 'rule', color: '#4c78a8', strokeWidth: 2 }, encoding: { x, y: { ...y, field: 'lo' }, y2: { field: 'hi' } } },
      { data: { values: summary }, mark: { type: 'tick', color: '#4c78a8', thickness: 3, size: 28 }, encoding: { x, y: { ...y, field: 'mean' } } },
      {
        data: { values: runs },
        mark: { type: 'point', filled: true, size: 50, color: '#f58518', opacity: 0.85 },
        encoding: { x, y: { ...y, field: 'acc' }, tooltip: [{ field: 'seed' }, { field: 'acc', format: '.2f' }] },
      },
    ],
  } as unknown as TopLevelSpec;
}
