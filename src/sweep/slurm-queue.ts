import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** One array task as Slurm sees it. */
export interface SlurmTask {
  /** `<array job>_<task>`, as squeue and scancel name it. */
  job: string;
  /** RUNNING, PENDING, COMPLETED, CANCELLED, FAILED, TIMEOUT, PREEMPTED, NODE_FAIL, … */
  state: string;
}

/** States in which Slurm will still run (or is running) the task. */
export const ACTIVE_STATES = new Set(['PENDING', 'RUNNING', 'CONFIGURING', 'COMPLETING', 'REQUEUED', 'REQUEUE_HOLD', 'REQUEUE_FED', 'RESIZING', 'SUSPENDED', 'STOPPED', 'SIGNALING', 'STAGE_OUT']);

/**
 * The tasks of these array jobs, keyed `<array job>_<task>`: from squeue (which knows a job while it
 * is queued or running, and for MinJobAge after it ends), then from sacct for the jobs squeue has
 * forgotten, where accounting is on. A job neither knows is absent: the trials' files still tell.
 */
export async function slurmTasks(jobIds: string[]): Promise<Map<string, SlurmTask>> {
  const tasks = new Map<string, SlurmTask>();
  if (jobIds.length === 0) return tasks;
  const add = (job: string, state: string) => tasks.set(job, { job, state: state.split(/\s/)[0].replace(/\+$/, '') });
  // One job at a time: squeue fails as a whole when one of several ids is unknown to it.
  for (const id of jobIds) {
    const lines = await output('squeue', ['--noheader', '--array', '--states=all', `--jobs=${id}`, '--format=%i|%T']);
    for (const line of lines) {
      const [job, state] = line.split('|');
      if (/^\d+_\d+$/.test(job) && state) add(job, state);
    }
    if ([...tasks.keys()].some((k) => k.startsWith(`${id}_`))) continue;
    for (const line of await output('sacct', ['--noheader', '--parsable2', '--allocations', `--jobs=${id}`, '--format=JobID,State'])) {
      const [job, state] = line.split('|');
      if (/^\d+_\d+$/.test(job) && state) add(job, state);
    }
  }
  return tasks;
}

/** The command's stdout lines, or none when it is missing or fails (Slurm down, accounting off). */
async function output(command: string, args: string[]): Promise<string[]> {
  try {
    const { stdout } = await run(command, args, { timeout: 20_000 });
    return stdout.split('\n').map((l) => l.trim()).filter(Boolean);
  } catch {
    return [];
  }
}
