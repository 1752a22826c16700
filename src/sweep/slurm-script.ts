import { basename } from 'node:path';

/** What `vit sweep run --slurm` puts in the batch script's #SBATCH lines. */
export interface SlurmOptions {
  partition: string | null;
  time: string | null;
  cpusPerTask: number | null;
  /** The job array's throttle: at most this many tasks at once (`--array=…%M`). */
  maxParallel: number | null;
  /** More sbatch options, one per #SBATCH line, e.g. --mem=4G or --account=abc. */
  sbatchArgs: string[];
  /** The dataset folder, absolute: the tasks run on other machines. */
  dataDir: string;
}

export interface ScriptPaths {
  /** The sweep folder, absolute. */
  sweepDir: string;
  /** Where Slurm writes each task's output, absolute. */
  outputDir: string;
  /** The folder the tasks run in: where the sweep was submitted from (relative paths in configs resolve there). */
  workDir: string;
  /** The command that runs this vit (node, its flags, the CLI script), absolute paths. */
  vit: string[];
  /** Width of the trial ids, for Slurm's zero-padded %a in output file names. */
  idWidth: number;
}

/**
 * The batch script of a sweep's job array, written beside the sweep (slurm.sh) for people to read
 * and edit. Each array task runs `vit sweep trial DIR $SLURM_ARRAY_TASK_ID`, which runs `vit train`
 * on that trial, resuming it from its last/ when there is one.
 */
export function batchScript(paths: ScriptPaths, opts: SlurmOptions): string {
  const directives = [
    `--job-name=vit-sweep-${basename(paths.sweepDir)}`,
    `--output=${paths.outputDir}/%A_%${paths.idWidth}a.out`,
    '--open-mode=append',
    '--requeue',
    ...(opts.cpusPerTask !== null ? [`--cpus-per-task=${opts.cpusPerTask}`] : []),
    ...(opts.partition !== null ? [`--partition=${opts.partition}`] : []),
    ...(opts.time !== null ? [`--time=${opts.time}`] : []),
    ...opts.sbatchArgs,
  ];
  return `#!/bin/bash
# The Slurm job array of the sweep ${paths.sweepDir}
# One array task per trial: SLURM_ARRAY_TASK_ID is the trial's number (trials/NNN/config.json).
# Written by \`vit sweep run --slurm\`, which submits it with sbatch --array=<the unfinished
# trials>[%max-parallel]. You may edit it: vit then keeps your version, and passes the flags of a
# later \`vit sweep run --slurm\` on sbatch's command line, where they override the #SBATCH lines.
#
# Each task runs \`vit sweep trial\`, which runs \`vit train\` on its trial: from its config the first
# time, and with --resume checkpoints/NNN/last when the trial has a checkpoint (a task that Slurm
# requeued, or a sweep submitted again), so an interrupted trial continues exactly. On SIGTERM
# (scancel, preemption, the time limit) vit train finishes its step and saves last/; Slurm's KillWait
# (default 30 s) must cover one training step and a checkpoint. --requeue lets Slurm requeue a task
# after a node failure or a preemption. vit sweep trial writes trials/NNN/outcome.json (done, or
# failed with the reason) and the output of vit train to trials/NNN/train.log.
#
# Assumed: a filesystem shared by this machine and the nodes, with the sweep folder, node and vit
# at the same paths (add \`module load\` or the like below if your nodes need it).
${directives.map((d) => `#SBATCH ${d}`).join('\n')}
set -euo pipefail
cd ${shellQuote(paths.workDir)}
# The native kernels' threads: the CPUs Slurm gave this task.
export VIT_NUM_THREADS="\${SLURM_CPUS_PER_TASK:-1}"
exec ${paths.vit.map(shellQuote).join(' ')} sweep trial ${shellQuote(paths.sweepDir)} "$SLURM_ARRAY_TASK_ID" --data-dir ${shellQuote(opts.dataDir)}
`;
}

/** A word for bash: as it is when it is plainly safe, else single-quoted. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `0-3,5,7-9`: the array indices of the trials to submit, as sbatch's --array takes them. */
export function arraySpec(indices: number[]): string {
  const sorted = [...indices].sort((a, b) => a - b);
  const ranges: string[] = [];
  for (let i = 0; i < sorted.length; ) {
    let j = i;
    while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
    ranges.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
    i = j + 1;
  }
  return ranges.join(',');
}
