import chalk from 'chalk';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { promisify } from 'node:util';
import { ensureDatasets } from '../data/download.js';
import { UserError } from '../errors.js';
import { writeFileAtomic } from '../util/atomic.js';
import { makeDir } from '../util/make-dir.js';
import { type Sweep, trialDatasets } from './definition.js';
import { vitCommand } from './self-command.js';
import { sweepProgress } from './progress.js';
import { type SlurmRecord, readSlurmRecord } from './slurm-record.js';
import { ACTIVE_STATES } from './slurm-queue.js';
import { type SlurmOptions, arraySpec, batchScript } from './slurm-script.js';

const run = promisify(execFile);

export type SlurmFlags = Partial<Omit<SlurmOptions, 'dataDir'>> & { dataDir?: string };

/**
 * Submits the sweep's unfinished trials as one Slurm job array: trials neither done nor queued,
 * running or held elsewhere, at most `maxParallel` at a time. Writes the batch script to slurm.sh
 * first (unless someone edited the one vit wrote last), and records the job in slurm.json.
 */
export async function submitToSlurm(sweep: Sweep, flags: SlurmFlags): Promise<void> {
  const { layout, file } = sweep;
  await checkSbatch();
  const record = await readSlurmRecord(layout);
  const previous = record?.options;
  const options: SlurmOptions = {
    partition: flags.partition ?? previous?.partition ?? null,
    time: flags.time ?? previous?.time ?? null,
    cpusPerTask: flags.cpusPerTask ?? previous?.cpusPerTask ?? null,
    maxParallel: flags.maxParallel ?? previous?.maxParallel ?? null,
    sbatchArgs: flags.sbatchArgs ?? previous?.sbatchArgs ?? [],
    dataDir: resolve(flags.dataDir ?? previous?.dataDir ?? 'data'),
  };

  const progress = await sweepProgress(sweep);
  const todo = progress.filter((p) => p.state !== 'done' && p.state !== 'running' && !ACTIVE_STATES.has(p.slurm?.state ?? ''));
  const done = progress.filter((p) => p.state === 'done').length;
  const busy = progress.length - done - todo.length;
  const head = `${layout.dir}: ${file.trials.length} trials, ${done} done${busy ? `, ${busy} queued or running` : ''}`;
  if (todo.length === 0) {
    console.log(`${head}: nothing to submit`);
    return;
  }
  await ensureDatasets(options.dataDir, trialDatasets(sweep)); // here, once: not a download in every task

  const script = batchScript(
    {
      sweepDir: resolve(layout.dir),
      outputDir: resolve(layout.slurmOutputDir),
      workDir: process.cwd(),
      vit: vitCommand(),
      idWidth: file.trials[0].id.length,
    },
    options,
  );
  const current = await readFile(layout.slurmScript, 'utf8').catch(() => null);
  const edited = current !== null && record !== null && sha256(current) !== record.script_sha256;
  if (!edited) await writeFileAtomic(layout.slurmScript, script);
  await makeDir(layout.slurmOutputDir); // Slurm does not create the output file's folder

  const indices = todo.map((p) => file.trials.indexOf(p.trial));
  const array = `${arraySpec(indices)}${options.maxParallel ? `%${options.maxParallel}` : ''}`;
  // An edited script keeps its own #SBATCH lines; flags given now go on the command line, over them.
  const overrides = edited ? commandLineOptions(flags) : [];
  const args = ['--parsable', `--array=${array}`, ...overrides, layout.slurmScript];
  const jobId = await sbatch(args);
  await writeFileAtomic(
    layout.slurmRecord,
    JSON.stringify(
      {
        script_sha256: edited ? record!.script_sha256 : sha256(script),
        options,
        submissions: [...(record?.submissions ?? []), { job_id: jobId, trials: todo.map((p) => p.trial.id), array, submitted: new Date().toISOString() }],
      } satisfies SlurmRecord,
      null,
      2,
    ) + '\n',
  );

  const resumes = todo.filter((p) => p.state === 'stopped').length;
  console.log(`${head}; submitted ${todo.length} as job array ${chalk.bold(jobId)} (sbatch ${args.slice(1).join(' ')})${resumes ? `, ${resumes} resuming from last/` : ''}`);
  const cpus = options.cpusPerTask ?? 1;
  console.log(`each task: vit train on its trial with ${cpus} CPU${cpus === 1 ? '' : 's'} (VIT_NUM_THREADS=$SLURM_CPUS_PER_TASK); requeued tasks resume from last/${edited ? `; ${layout.slurmScript} was edited: submitted as it is` : ''}`);
  console.log(chalk.dim(`assumes a filesystem the nodes share with this machine (${resolve(layout.dir)}, ${options.dataDir}, ${vitCommand().at(-1)})`));
  console.log(`watch with: vit sweep status ${layout.dir}   (squeue -j ${jobId}; cancel: scancel ${jobId})`);
}

function commandLineOptions(flags: SlurmFlags): string[] {
  return [
    ...(flags.partition ? [`--partition=${flags.partition}`] : []),
    ...(flags.time ? [`--time=${flags.time}`] : []),
    ...(flags.cpusPerTask ? [`--cpus-per-task=${flags.cpusPerTask}`] : []),
    ...(flags.sbatchArgs ?? []),
  ];
}

async function checkSbatch(): Promise<void> {
  try {
    await run('sbatch', ['--version'], { timeout: 20_000 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError('--slurm: sbatch is not on PATH; run this on a machine that submits Slurm jobs (a login node), with the sweep folder on a filesystem the nodes share');
    }
    throw new UserError(`--slurm: sbatch --version failed: ${lastLine(err)}`);
  }
}

/** Runs sbatch --parsable; returns the job id, or says sbatch's own error in one line. */
async function sbatch(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('sbatch', args, { timeout: 60_000 });
    const id = stdout.trim().split(';')[0];
    if (!/^\d+$/.test(id)) throw new UserError(`sbatch printed no job id (${stdout.trim() || 'nothing'})`);
    return id;
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`sbatch ${args.join(' ')} failed: ${lastLine(err)}`);
  }
}

function lastLine(err: unknown): string {
  const e = err as { stderr?: string; message?: string };
  const lines = (e.stderr || e.message || String(err)).trim().split('\n');
  return lines[lines.length - 1];
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
