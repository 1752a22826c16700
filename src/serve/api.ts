import type { IncomingMessage, ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { CheckpointAnalyses } from './checkpoint-analysis.js';
import type { EventStream } from './event-stream.js';
import { type CurvesAxis, leaderboardSpec, pageCurvesSpec } from './page-charts.js';
import type { RunCatalog } from './run-catalog.js';
import type { CheckpointName } from './run-record.js';
import { Refused, type ServedFolder } from './served-folders.js';
import { sweepLeaderboard } from './sweep-leaderboard.js';
import type { Uploads } from './uploads.js';

export interface ApiContext {
  folders: ServedFolder[];
  catalog: RunCatalog;
  analyses: CheckpointAnalyses;
  events: EventStream;
  uploads: Uploads;
  dataDir: string;
}

/**
 * The page's JSON API. Runs and sweeps are named by their ids (`checkpoints/smoke`), looked up in
 * the catalog: no request parameter is ever joined to a path.
 */
export async function handleApi(ctx: ApiContext, req: IncomingMessage, res: ServerResponse, path: string, query: URLSearchParams): Promise<void> {
  const route = `${req.method} ${path}`;
  switch (route) {
    case 'GET /api/runs':
      return json(res, { folders: ctx.folders.map((f) => ({ label: f.label, given: f.given })), runs: ctx.catalog.summaries(), sweeps: ctx.catalog.sweeps().map((s) => s.id), dataDir: ctx.dataDir });
    case 'GET /api/events':
      return ctx.events.open(res, { event: 'runs', data: ctx.catalog.summaries() });
    case 'GET /api/curves':
      return json(res, curves(ctx, query.getAll('run'), query.get('x') === 'minutes' ? 'minutes' : 'epoch'));
    case 'GET /api/checkpoint':
      return json(res, await ctx.analyses.view(required(query, 'run'), checkpointName(query)));
    case 'POST /api/analyze':
      return json(res, await ctx.analyses.start(required(query, 'run'), checkpointName(query)));
    case 'POST /api/predict':
      return json(res, await predict(ctx, req, required(query, 'run'), checkpointName(query), query.get('name') ?? 'the image'));
    case 'GET /api/sweep':
      return json(res, await sweep(ctx, required(query, 'id')));
    default:
      throw new Refused(`no such API: ${route}`, 404);
  }
}

function curves(ctx: ApiContext, ids: string[], axis: CurvesAxis) {
  const runs = [];
  const messages: { run: string; message: string }[] = [];
  for (const id of ids) {
    const record = ctx.catalog.record(id);
    if (!record) messages.push({ run: id, message: `${id}: no such run (any more)` });
    else if (record.summary.error) messages.push({ run: id, message: record.summary.error });
    else if (!record.rows.length) messages.push({ run: id, message: `${id}: no epoch finished yet` });
    else runs.push({ name: id, rows: record.rows });
  }
  return { spec: runs.length ? pageCurvesSpec(runs, axis) : null, messages };
}

/** `name` (the file's name on the user's machine) only words messages: the upload's own path is never shown. */
async function predict(ctx: ApiContext, req: IncomingMessage, run: string, which: CheckpointName, name: string) {
  const checkpoint = await ctx.analyses.checkpointDir(run, which);
  const file = await ctx.uploads.save(req);
  try {
    return await ctx.analyses.predict(checkpoint, file).catch((err: Error) => Promise.reject(new Refused(err.message.split(file).join(name), 422)));
  } finally {
    await ctx.uploads.remove(file);
  }
}

async function sweep(ctx: ApiContext, id: string) {
  const found = ctx.catalog.sweeps().find((s) => s.id === id);
  if (!found) throw new Refused(`no sweep ${id}`, 404);
  let sweepJson: unknown = null;
  try {
    sweepJson = JSON.parse(await readFile(join(found.dir, 'sweep.json'), 'utf8'));
  } catch (err) {
    throw new Refused(`${id}/sweep.json: ${err instanceof SyntaxError ? `invalid JSON (${err.message})` : 'cannot read'}`, 422);
  }
  const trials = ctx.catalog.trialsOf(id).map((r) => ({
    id: r.summary.id,
    config: r.config,
    bestVal: r.summary.bestVal?.accuracy ?? null,
    test: r.summary.test?.accuracy ?? null,
    state: r.summary.state,
  }));
  const leaderboard = sweepLeaderboard(sweepJson, trials);
  return { id, trials: trials.length, leaderboard, chart: leaderboard.rows.some((r) => r.meanVal !== null) ? leaderboardSpec(leaderboard) : null };
}

function required(query: URLSearchParams, name: string): string {
  const value = query.get(name);
  if (!value) throw new Refused(`missing ?${name}=`, 400);
  return value;
}

function checkpointName(query: URLSearchParams): CheckpointName {
  const which = query.get('which') ?? 'best';
  if (which !== 'best' && which !== 'last') throw new Refused(`?which= must be best or last, not ${which}`, 400);
  return which;
}

export function json(res: ServerResponse, body: unknown, status = 200): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}
