import { readFile } from 'node:fs/promises';
import type { Sweep } from './definition.js';
import type { SweepLayout } from './layout.js';
import type { SlurmOptions } from './slurm-script.js';

/** slurm.json: the job arrays submitted for the sweep, and the script vit last wrote. */
export interface SlurmRecord {
  /** sha256 of slurm.sh as vit wrote it: a different file is one a person edited, and is kept. */
  script_sha256: string;
  /** The options of the last submission: a later one reuses those it is not given. */
  options: SlurmOptions;
  submissions: { job_id: string; trials: string[]; array: string; submitted: string }[];
}

export async function readSlurmRecord(layout: SweepLayout): Promise<SlurmRecord | null> {
  try {
    return JSON.parse(await readFile(layout.slurmRecord, 'utf8')) as SlurmRecord;
  } catch {
    return null;
  }
}

/** Each trial's latest array task, `<array job>_<index>`, for the trials ever submitted. */
export function latestJobs(sweep: Sweep, record: SlurmRecord | null): Map<string, string> {
  const jobs = new Map<string, string>();
  const index = new Map(sweep.file.trials.map((t, i) => [t.id, i]));
  for (const s of record?.submissions ?? []) for (const id of s.trials) if (index.has(id)) jobs.set(id, `${s.job_id}_${index.get(id)}`);
  return jobs;
}

