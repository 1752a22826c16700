import type { TrialRow } from './progress.js';

/** One setting of the sweep (its swept keys' values) over its seeds. */
export interface SettingResult {
  setting: Record<string, string>;
  trials: TrialRow[];
  /** Best validation accuracy of each done trial. */
  accs: number[];
  mean: number | null;
  /** Sample standard deviation over seeds (null below two). */
  std: number | null;
  min: number | null;
  max: number | null;
  /** Mean training minutes of the done trials. */
  minutes: number | null;
}

/**
 * The trials grouped by setting (the seed apart), each with the mean ± std over its done trials
 * of their best validation accuracy; best mean first, settings with no done trial last.
 */
export function leaderboard(rows: TrialRow[]): SettingResult[] {
  const groups = new Map<string, TrialRow[]>();
  for (const row of rows) {
    const key = JSON.stringify(row.trial.setting);
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  const results = [...groups.values()].map((trials): SettingResult => {
    const done = trials.filter((t) => t.state === 'done' && t.bestValAcc !== null);
    const accs = done.map((t) => t.bestValAcc!);
    const mean = accs.length ? accs.reduce((a, b) => a + b, 0) / accs.length : null;
    const std = mean !== null && accs.length > 1 ? Math.sqrt(accs.reduce((s, a) => s + (a - mean) ** 2, 0) / (accs.length - 1)) : null;
    const minutes = done.length ? done.reduce((s, t) => s + (t.minutes ?? 0), 0) / done.length : null;
    return {
      setting: trials[0].trial.setting,
      trials,
      accs,
      mean,
      std,
      min: accs.length ? Math.min(...accs) : null,
      max: accs.length ? Math.max(...accs) : null,
      minutes,
    };
  });
  // Stable: equal means keep the sweep's order.
  return results.sort((a, b) => (b.mean ?? -1) - (a.mean ?? -1));
}
