import { mkdir, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import type { Config } from '../config/schema.js';
import { UserError } from '../errors.js';
import { removeTree, tempPathFor, writeFileAtomic } from '../util/atomic.js';
import { makeDir } from '../util/make-dir.js';
import { type SweepDefinition, type SweepFile, type TrialSpec, expandTrials, readSweep } from './definition.js';
import { SweepLayout } from './layout.js';
import { sweepProgress } from './progress.js';
import { ACTIVE_STATES } from './slurm-queue.js';

export type CreateResult =
  | { kind: 'created'; file: SweepFile }
  | { kind: 'unchanged'; file: SweepFile }
  | { kind: 'replaced'; file: SweepFile; kept: string[]; removed: string[] };

/**
 * Writes a sweep folder: sweep.json and one trials/NNN/config.json per trial. All trials are
 * validated first, so a bad value writes nothing. The same definition again changes nothing; a
 * different one over an existing sweep is refused unless `force`, which keeps the runs of trials
 * whose resolved config is unchanged and removes the others' (nothing may be running).
 */
export async function createSweep(dir: string, def: SweepDefinition, force: boolean): Promise<CreateResult> {
  const layout = new SweepLayout(dir);
  const { trials, configs } = expandTrials(def, layout);
  const file: SweepFile = { vit_sweep: 1, created: new Date().toISOString(), definition: def, trials };

  const existing = await existingSweep(dir);
  if (existing === null) {
    await writeFresh(layout, file, configs);
    return { kind: 'created', file };
  }
  if (canonical(existing.definition) === canonical(def)) return { kind: 'unchanged', file: existing };
  if (!force) {
    const changed = differences(existing.definition, def);
    throw new UserError(`${dir} already holds a different sweep (${changed.join(', ')} differ${changed.length === 1 ? 's' : ''}): pick another --out, or add --force to replace it`);
  }
  return replace(layout, existing, file, configs);
}

/** The sweep already in `dir`, null when `dir` is absent or empty; a folder of something else is refused. */
async function existingSweep(dir: string): Promise<SweepFile | null> {
  let entries: string[];
  try {
    entries = await readdir(dir);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ENOTDIR') throw new UserError(`--out ${dir}: is a file, expected a folder for the sweep`);
    throw err;
  }
  if (entries.length === 0) return null;
  if (!entries.includes('sweep.json')) throw new UserError(`--out ${dir}: the folder exists and holds no sweep.json; pick a new or empty folder`);
  return (await readSweep(dir)).file;
}

/** A new sweep is built in a temp folder beside its place and renamed there: all of it or nothing. */
async function writeFresh(layout: SweepLayout, file: SweepFile, configs: Config[]): Promise<void> {
  await makeDir(dirname(layout.dir));
  const tmp = tempPathFor(layout.dir);
  try {
    await mkdir(tmp);
    const staged = new SweepLayout(tmp);
    for (const [i, trial] of file.trials.entries()) await writeFileAtomic(staged.trialConfig(trial.id), configText(configs[i]));
    await writeFileAtomic(staged.sweepFile, JSON.stringify(file, null, 2) + '\n');
    // Over an empty folder, if there is one: rename replaces an empty directory.
    await rename(tmp, layout.dir);
  } catch (err) {
    await removeTree(tmp);
    throw err;
  }
}

async function replace(layout: SweepLayout, old: SweepFile, file: SweepFile, configs: Config[]): Promise<CreateResult> {
  for (const row of await sweepProgress({ layout, file: old })) {
    if (row.state === 'running' || ACTIVE_STATES.has(row.slurm?.state ?? '')) {
      const where = row.lock?.where ?? `Slurm job ${row.slurmJob}, ${row.slurm?.state}`;
      throw new UserError(`--force: trial ${row.trial.id} is running or queued (${where}); stop the sweep first`);
    }
  }
  const kept: string[] = [];
  const removed: string[] = [];
  const newIds = new Set(file.trials.map((t) => t.id));
  for (const [i, trial] of file.trials.entries()) {
    const text = configText(configs[i]);
    const before = await readFile(layout.trialConfig(trial.id), 'utf8').catch(() => null);
    if (before === text) {
      kept.push(trial.id);
      continue;
    }
    if (before !== null && (await forget(layout, trial))) removed.push(trial.id);
    await writeFileAtomic(layout.trialConfig(trial.id), text);
  }
  for (const trial of old.trials.filter((t) => !newIds.has(t.id))) {
    if (await forget(layout, trial)) removed.push(trial.id);
    await removeTree(layout.trialDir(trial.id));
  }
  // Last: until sweep.json is replaced, running the same --force command again finishes the job.
  await writeFileAtomic(layout.sweepFile, JSON.stringify(file, null, 2) + '\n');
  return { kind: 'replaced', file, kept, removed };
}

/** Removes a trial's run and records; true when it had a run. */
async function forget(layout: SweepLayout, trial: TrialSpec): Promise<boolean> {
  const hadRun = await readdir(layout.runDir(trial.id)).then(
    () => true,
    () => false,
  );
  await removeTree(layout.runDir(trial.id));
  for (const path of [layout.trainLog(trial.id), layout.outcomeFile(trial.id), layout.lockFile(trial.id)]) await rm(path, { force: true });
  return hadRun;
}

function configText(config: Config): string {
  return JSON.stringify(config, null, 2) + '\n';
}

/** JSON with sorted keys: two definitions are the same command when these are equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).sort(([a], [b]) => a.localeCompare(b))) : v,
  );
}

function differences(a: SweepDefinition, b: SweepDefinition): string[] {
  const parts: string[] = [];
  if (a.config !== b.config) parts.push(`the base config (${basename(a.config)} → ${basename(b.config)})`);
  else if (canonical(a.base) !== canonical(b.base)) parts.push(`the content of ${a.config}`);
  if (canonical(a.grid) !== canonical(b.grid)) parts.push('--grid');
  if (a.seeds !== b.seeds) parts.push('--seeds');
  if (canonical(a.random) !== canonical(b.random) || a.random_trials !== b.random_trials) parts.push('--random/--trials');
  return parts.length ? parts : ['the definitions'];
}

