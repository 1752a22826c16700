import { open, readFile, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { makeDir } from '../util/make-dir.js';
import type { SweepLayout } from './layout.js';
import { ACTIVE_STATES, slurmTasks } from './slurm-queue.js';

/** trials/NNN/running.json: who is training the trial now. */
export interface TrialLock {
  host: string;
  pid: number;
  started: string;
  /** `<array job>_<task>` when a Slurm array task runs it. */
  slurm_job: string | null;
}

export async function readLock(layout: SweepLayout, id: string): Promise<TrialLock | null> {
  try {
    return JSON.parse(await readFile(layout.lockFile(id), 'utf8')) as TrialLock;
  } catch {
    return null; // absent, or torn by a crash in the moment it was written: no one holds it
  }
}

/**
 * The trial's lock when someone may hold it. A lock of this host whose process is gone was left by
 * a crash (or a SIGKILL) and does not count; one of another host cannot be checked from here, so
 * it counts (the status command weighs it against Slurm's view).
 */
export async function liveLock(layout: SweepLayout, id: string): Promise<(TrialLock & { where: string }) | null> {
  const lock = await readLock(layout, id);
  if (!lock || (lock.host === hostname() && !processAlive(lock.pid))) return null;
  const where = `${lock.slurm_job ? `Slurm job ${lock.slurm_job}, ` : ''}pid ${lock.pid} on ${lock.host}`;
  return { ...lock, where };
}

/**
 * Takes the trial's lock (an exclusive create, so two runners never train one trial), or says
 * who holds it. A stale lock is taken over: one of this host whose process is gone, one left by
 * the same Slurm task (a requeued task keeps its job id, and may start on another node than the
 * killed one), and one of a Slurm task that Slurm has ended.
 */
export async function acquireLock(
  layout: SweepLayout,
  id: string,
  slurmJob: string | null,
): Promise<{ release(): Promise<void> } | { heldBy: string }> {
  const path = layout.lockFile(id);
  await makeDir(layout.trialDir(id));
  for (let attempt = 0; ; attempt++) {
    try {
      const fh = await open(path, 'wx');
      const lock: TrialLock = { host: hostname(), pid: process.pid, started: new Date().toISOString(), slurm_job: slurmJob };
      await fh.writeFile(JSON.stringify(lock, null, 2) + '\n');
      await fh.close();
      return { release: () => rm(path, { force: true }) };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw err;
    }
    const held = await liveLock(layout, id);
    const stale = !held || (slurmJob !== null && held.slurm_job === slurmJob) || (held.slurm_job !== null && (await slurmTaskEnded(held.slurm_job)));
    if (!stale) return { heldBy: `${held.where}; if it is not, delete ${path}` };
    await rm(path, { force: true });
  }
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether Slurm knows the task and has ended it (a task Slurm has forgotten cannot be told). */
async function slurmTaskEnded(job: string): Promise<boolean> {
  const task = (await slurmTasks([job.split('_')[0]])).get(job);
  return task !== undefined && !ACTIVE_STATES.has(task.state);
}
