import { readFile, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { summarizeConfig } from '../config/summary.js';
import type { MetricsRow } from '../train/metrics-csv.js';
import { readableDir } from '../util/atomic.js';
import { readEvalReport } from './eval-report.js';
import { MetricsFileError, parseMetricsCsv } from './metrics-file.js';
import { describeModel } from './model-access.js';
import type { FoundRun } from './run-discovery.js';
import { type LastState, type RunState, runState } from './run-state.js';

export type CheckpointName = 'best' | 'last';

/** What the Runs table shows of a run. */
export interface RunSummary {
  id: string;
  name: string;
  sweep: string | null;
  family: string | null;
  params: number | null;
  /** A few headline settings, for the table. */
  settings: string;
  /** `vit train`'s config summary, one line per section. */
  config: string[];
  state: RunState;
  stateReason: string;
  epochs: number;
  plannedEpochs: number | null;
  bestVal: { accuracy: number; epoch: number } | null;
  /** Test accuracy of best/: from its eval.json (`vit eval --json`), or computed by this server. */
  test: { accuracy: number; images: number; source: 'eval.json' | 'computed' } | null;
  checkpoints: CheckpointName[];
  /** Milliseconds since the epoch of the last change to metrics.csv or last/. */
  updated: number;
  /** One line when the run's files cannot be read (a corrupt metrics.csv, an invalid config.json). */
  error: string | null;
}

export interface RunRecord {
  summary: RunSummary;
  rows: MetricsRow[];
  /** The parsed config.json (null when it is missing or invalid). */
  config: Config | null;
  /** last/state.json, which the state is read from with the rows and the time of the last change. */
  last: LastState | null;
}

/** Reads a run folder; never throws for a broken file (the summary's `error` says what is wrong). */
export async function readRun(run: FoundRun, nowMs: number): Promise<RunRecord> {
  const errors: string[] = [];
  const config = await readRunConfig(join(run.dir, 'config.json'), `${run.id}/config.json`).catch((err: Error) => {
    errors.push(err.message);
    return null;
  });
  let rows: MetricsRow[] = [];
  try {
    rows = parseMetricsCsv(await readFile(join(run.dir, 'metrics.csv'), 'utf8'), `${run.id}/metrics.csv`);
  } catch (err) {
    if (err instanceof MetricsFileError) errors.push(err.message);
    else if ((err as NodeJS.ErrnoException).code !== 'ENOENT') errors.push(`${run.id}/metrics.csv: cannot read (${(err as Error).message})`);
  }
  const last = await readLastState(run.dir);
  const checkpoints = (['best', 'last'] as const).filter((c) => Boolean(last.present[c]));
  const updated = Math.max(await mtime(join(run.dir, 'metrics.csv')), await mtime(join(run.dir, 'config.json')), last.mtime);
  const { state, reason, plannedEpochs } = runState({ config, rows, last: last.state, lastActivityMs: updated, nowMs });
  const best = rows.reduce<MetricsRow | null>((b, r) => (Number.isFinite(r.val_acc) && (!b || r.val_acc > b.val_acc) ? r : b), null);
  const facts = config ? safeFacts(config) : null;
  const report = checkpoints.includes('best') ? await readEvalReport(join(run.dir, 'best')).catch(() => null) : null;
  return {
    config,
    rows,
    last: last.state,
    summary: {
      id: run.id,
      name: basename(run.dir),
      sweep: run.sweep,
      family: facts?.family ?? null,
      params: facts?.params ?? null,
      settings: config ? headlineSettings(config) : '',
      config: config ? summarizeConfig(config).map((l) => `${l.section}: ${l.text}`) : [],
      state,
      stateReason: reason,
      epochs: rows.length,
      plannedEpochs,
      bestVal: best ? { accuracy: best.val_acc, epoch: best.epoch } : null,
      test: report ? { accuracy: report.accuracy, images: report.images, source: 'eval.json' } : null,
      checkpoints,
      updated,
      error: errors[0] ?? null,
    },
  };
}

async function readRunConfig(path: string, source: string): Promise<Config> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`${source}: ${err instanceof SyntaxError ? `invalid JSON (${err.message})` : 'cannot read'}`);
  }
  return parseConfig(raw, source);
}

function safeFacts(config: Config): { family: string; params: number } | null {
  try {
    return describeModel(config.model);
  } catch {
    return null;
  }
}

/** The settings people compare runs by, short enough for a table cell. */
function headlineSettings(c: Config): string {
  const parts = [`${c.optimizer.name} lr ${c.optimizer.lr}`, `batch ${c.train.batch_size}`];
  parts.push(c.train.max_minutes !== null ? `${c.train.max_minutes} min` : `${c.train.epochs} epochs`);
  if (c.data.limit_train !== null) parts.push(`${c.data.limit_train} images`);
  return parts.join(' · ');
}

async function readLastState(runDir: string): Promise<{ state: LastState | null; mtime: number; present: Record<CheckpointName, boolean> }> {
  const present = { best: false, last: false };
  // A checkpoint is there once its weights are (a folder of hand-made files is not one).
  for (const name of ['best', 'last'] as const) present[name] = (await mtime(join(await readableDir(join(runDir, name)), 'weights.safetensors'))) > 0;
  const path = join(await readableDir(join(runDir, 'last')), 'state.json');
  try {
    const state = JSON.parse(await readFile(path, 'utf8')) as LastState;
    return { state: typeof state.epoch === 'number' ? state : null, mtime: await mtime(path), present };
  } catch {
    return { state: null, mtime: 0, present };
  }
}

async function mtime(path: string): Promise<number> {
  return stat(path).then(
    (s) => s.mtimeMs,
    () => 0,
  );
}

/** The run's state as of `nowMs`, from what was read (a live run that stopped writing turns 'stopped'). */
export function restate(record: RunRecord, nowMs: number): RunRecord['summary'] {
  const { state, reason } = runState({ config: record.config, rows: record.rows, last: record.last, lastActivityMs: record.summary.updated, nowMs });
  return { ...record.summary, state, stateReason: reason };
}
