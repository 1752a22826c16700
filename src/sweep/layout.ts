import { join } from 'node:path';

/**
 * Where a sweep keeps what, under its folder (`vit sweep create --out sweeps/NAME`):
 *
 *   sweep.json                 the definition (base config, grid, seeds, random search) and its trials
 *   trials/NNN/config.json     trial NNN's fully resolved config
 *   trials/NNN/train.log       the output of its `vit train` sessions, appended
 *   trials/NNN/outcome.json    written when it ends: done, or failed with its one-line reason
 *   trials/NNN/running.json    while a `vit train` works on it: host, pid, Slurm job (a lock)
 *   checkpoints/NNN/           its run directory (config.json, metrics.csv, last/, best/)
 *   slurm.sh, slurm.json       the batch script and the job arrays submitted with it
 *   slurm/                     Slurm's output files, one per array task
 *   leaderboard.csv, trials.csv, report.png   written by `vit sweep report`
 *
 * A trial's id is its index in the job array, zero-padded: 000, 001, …
 */
export class SweepLayout {
  constructor(readonly dir: string) {}

  get sweepFile(): string {
    return join(this.dir, 'sweep.json');
  }
  get checkpointDir(): string {
    return join(this.dir, 'checkpoints');
  }
  trialDir(id: string): string {
    return join(this.dir, 'trials', id);
  }
  trialConfig(id: string): string {
    return join(this.trialDir(id), 'config.json');
  }
  trainLog(id: string): string {
    return join(this.trialDir(id), 'train.log');
  }
  outcomeFile(id: string): string {
    return join(this.trialDir(id), 'outcome.json');
  }
  lockFile(id: string): string {
    return join(this.trialDir(id), 'running.json');
  }
  runDir(id: string): string {
    return join(this.checkpointDir, id);
  }
  get slurmScript(): string {
    return join(this.dir, 'slurm.sh');
  }
  get slurmRecord(): string {
    return join(this.dir, 'slurm.json');
  }
  get slurmOutputDir(): string {
    return join(this.dir, 'slurm');
  }
  get leaderboardCsv(): string {
    return join(this.dir, 'leaderboard.csv');
  }
  get trialsCsv(): string {
    return join(this.dir, 'trials.csv');
  }
  get reportChart(): string {
    return join(this.dir, 'report.png');
  }
}

/** Trial ids: zero-padded indices, at least three digits, all of one width. */
export function trialIds(count: number): string[] {
  const width = Math.max(3, String(Math.max(0, count - 1)).length);
  return Array.from({ length: count }, (_, i) => String(i).padStart(width, '0'));
}
