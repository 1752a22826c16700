import { hostname } from 'node:os';
import type { Sweep } from './definition.js';
import { ACTIVE_STATES, type SlurmTask, slurmTasks } from './slurm-queue.js';
import { latestJobs, readSlurmRecord } from './slurm-record.js';
import { type TrialProgress, readTrialProgress } from './trial-state.js';

export interface TrialRow extends TrialProgress {
  /** The trial's latest Slurm array task, when the sweep was submitted there and Slurm still knows it. */
  slurm: SlurmTask | null;
  /** Its id, `<array job>_<index>`, even when Slurm has forgotten it. */
  slurmJob: string | null;
}

/**
 * Every trial's state, from its files and, for a sweep submitted to Slurm, from Slurm: a task
 * that Slurm runs is running even before its vit train has written the lock, and a lock left on
 * another node by a task that Slurm has ended (killed hard: node failure, the end of KillWait)
 * no longer counts.
 */
export async function sweepProgress(sweep: Sweep): Promise<TrialRow[]> {
  const rows = await Promise.all(sweep.file.trials.map((t) => readTrialProgress(sweep.layout, t)));
  const record = await readSlurmRecord(sweep.layout);
  if (!record) return rows.map((p) => ({ ...p, slurm: null, slurmJob: null }));

  const jobs = latestJobs(sweep, record);
  const lockJobs = rows.map((p) => p.lock?.slurm_job?.split('_')[0]).filter((j): j is string => Boolean(j));
  const tasks = await slurmTasks([...new Set([...record.submissions.map((s) => s.job_id), ...lockJobs])]);
  return rows.map((p) => {
    const slurmJob = jobs.get(p.trial.id) ?? null;
    const slurm = slurmJob ? (tasks.get(slurmJob) ?? null) : null;
    const trained = p.minutes !== null;
    let state = p.state;
    const lockTask = p.lock?.slurm_job ? tasks.get(p.lock.slurm_job) : undefined;
    if (state === 'running' && p.lock!.host !== hostname() && lockTask && !ACTIVE_STATES.has(lockTask.state)) state = trained ? 'stopped' : 'pending';
    if ((state === 'pending' || state === 'stopped') && slurm?.state === 'RUNNING') state = 'running';
    return { ...p, state, slurm, slurmJob };
  });
}
