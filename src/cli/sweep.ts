import chalk from 'chalk';
import { Command, Option } from 'commander';
import { UserError } from '../errors.js';
import { createSweep } from '../sweep/create.js';
import { type CreateFlags, defineSweep, readSweep, settingLabel } from '../sweep/definition.js';
import { runLocally } from '../sweep/local-runner.js';
import { sweepProgress } from '../sweep/progress.js';
import { DISTRIBUTIONS } from '../sweep/random-search.js';
import { writeReport } from '../sweep/report.js';
import { type SlurmFlags, submitToSlurm } from '../sweep/slurm-runner.js';
import { statusLines } from '../sweep/status.js';
import { resumedAt, startTrial } from '../sweep/trial.js';
import { dataDirOption } from './common-options.js';
import { runAction } from './run-action.js';

const repeatable = (value: string, previous: string[] | undefined) => [...(previous ?? []), value];

export function sweepCommand(): Command {
  return new Command('sweep')
    .description('many runs: define a grid / seeds / random search over a config, run it here or as a Slurm job array, read a leaderboard')
    .addCommand(createCommand())
    .addCommand(runCommand())
    .addCommand(statusCommand())
    .addCommand(reportCommand())
    .addCommand(trialCommand())
    .addHelpText(
      'after',
      '\nExamples:\n' +
        '  vit sweep create --config configs/smoke.json --grid optimizer.lr=1e-3,2e-3 --seeds 3 --out sweeps/lr\n' +
        '  vit sweep run sweeps/lr --parallel 2\n' +
        '  vit sweep run sweeps/lr --slurm --partition cpu --time 1:00:00 --cpus-per-task 4 --max-parallel 8\n' +
        '  vit sweep status sweeps/lr\n' +
        '  vit sweep report sweeps/lr',
    );
}

function createCommand(): Command {
  return new Command('create')
    .description('define a sweep: writes DIR/sweep.json and one fully resolved DIR/trials/NNN/config.json per trial')
    .requiredOption('-c, --config <file>', 'the base config, e.g. configs/cpu-20m.json')
    .option('--grid <key=v1,v2,...>', 'values of a config key to try, typed as --set types them (repeatable: every combination)', repeatable)
    .option('--seeds <n>', 'run every setting with n seeds: the base config\'s seed, +1, … (or --grid seed=… for chosen ones)')
    .option('--random <key=distribution>', `draw a key's values at random: ${DISTRIBUTIONS} (repeatable; with --trials)`, repeatable)
    .option('--trials <n>', 'how many random settings to draw')
    .requiredOption('--out <dir>', 'the sweep folder, e.g. sweeps/lr')
    .option('--force', 'replace a different sweep in --out (trials whose config is unchanged keep their runs)')
    .action(runAction(async (flags: CreateFlags & { out: string; force?: boolean }) => {
      const result = await createSweep(flags.out, await defineSweep(flags), Boolean(flags.force));
      const { trials, definition } = result.file;
      const n = trials.length;
      if (result.kind === 'unchanged') {
        console.log(`${flags.out}: already defined by this same command (${n} trials); nothing changed`);
        return;
      }
      const axes = definition.grid.map((g) => `${g.key} ${g.values.join(', ')}`);
      if (definition.random.length) axes.push(`${definition.random_trials} draws of ${definition.random.map((r) => `${r.key} ~ ${r.dist}`).join(', ')}`);
      const seeds = [...new Set(trials.map((t) => t.seed))];
      if (!definition.grid.some((g) => g.key === 'seed')) axes.push(`seed ${seeds.join(', ')}`);
      const verb = result.kind === 'created' ? 'defined' : 'replaced (--force)';
      console.log(`${chalk.bold(flags.out)}: ${verb}: ${n} trial${n === 1 ? '' : 's'} of ${definition.config}: ${axes.join(' × ')}`);
      if (result.kind === 'replaced') {
        console.log(`${result.kept.length} kept their runs${result.removed.length ? `; removed the runs of the changed trials ${result.removed.join(', ')}` : ''}`);
      }
      console.log(`first: trial ${trials[0].id} (${settingLabel({ ...trials[0].setting, seed: String(trials[0].seed) })}), in ${flags.out}/trials/${trials[0].id}/config.json`);
      console.log(`run it: vit sweep run ${flags.out} [--parallel J]   or on Slurm: vit sweep run ${flags.out} --slurm [--partition P --time T]`);
    }));
}

interface RunFlags {
  parallel: string;
  dataDir?: string;
  slurm?: boolean;
  partition?: string;
  time?: string;
  cpusPerTask?: string;
  maxParallel?: string;
  sbatchArg?: string[];
}

function runCommand(): Command {
  return new Command('run')
    .description('train the unfinished trials: here, J at a time (Ctrl-C stops them, saving last/; running again resumes them), or as a Slurm job array')
    .argument('<dir>', 'the sweep folder')
    .option('--parallel <J>', 'trials at a time on this machine, the cores split between them', '1')
    .addOption(new Option('--data-dir <dir>', 'dataset directory (default: data, or for --slurm the one of the last submission)'))
    .option('--slurm', 'submit the unfinished trials as one Slurm job array (sbatch), with the batch script written to DIR/slurm.sh')
    .option('--partition <p>', '--slurm: the partition')
    .option('--time <t>', '--slurm: time limit per trial, e.g. 2:00:00')
    .option('--cpus-per-task <c>', '--slurm: CPUs per trial (its vit train uses them all)')
    .option('--max-parallel <m>', '--slurm: at most m trials at once (--array=…%m)')
    .option('--sbatch-arg <arg>', '--slurm: another sbatch option, e.g. --sbatch-arg=--mem=4G (repeatable)', repeatable)
    .addHelpText(
      'after',
      '\nA Slurm array task that is requeued (preemption, node failure: the script asks for --requeue) resumes its\n' +
        'trial from last/: on SIGTERM vit train finishes its step and saves it. The sweep folder must be on a\n' +
        'filesystem the nodes share. Submitting again submits only the trials that are neither done nor queued.',
    )
    .action(runAction(async (dir: string, flags: RunFlags) => {
      const sweep = await readSweep(dir);
      const slurmOnly = (['partition', 'time', 'cpusPerTask', 'maxParallel', 'sbatchArg'] as const).filter((k) => flags[k] !== undefined);
      if (!flags.slurm && slurmOnly.length) throw new UserError(`--${kebab(slurmOnly[0])} is for --slurm`);
      if (flags.slurm) {
        if (flags.parallel !== '1') throw new UserError('--parallel is for a run on this machine; on Slurm, --max-parallel caps the tasks at once');
        const slurmFlags: SlurmFlags = {
          partition: flags.partition,
          time: flags.time,
          cpusPerTask: flags.cpusPerTask === undefined ? undefined : count(flags.cpusPerTask, '--cpus-per-task'),
          maxParallel: flags.maxParallel === undefined ? undefined : count(flags.maxParallel, '--max-parallel'),
          sbatchArgs: flags.sbatchArg,
          dataDir: flags.dataDir,
        };
        await submitToSlurm(sweep, slurmFlags);
        return;
      }
      const summary = await runLocally(sweep, { parallel: count(flags.parallel, '--parallel'), dataDir: flags.dataDir ?? 'data' });
      if (summary.interrupted) process.exitCode = 130;
      else if (summary.failed > 0) process.exitCode = 1;
    }));
}

function statusCommand(): Command {
  return new Command('status')
    .description('one row per trial: its setting, state (pending, running, stopped, done, failed; Slurm\'s state and job id), epoch, best validation accuracy, minutes')
    .argument('<dir>', 'the sweep folder')
    .action(runAction(async (dir: string) => {
      const sweep = await readSweep(dir);
      for (const line of statusLines(sweep, await sweepProgress(sweep))) console.log(line);
    }));
}

function reportCommand(): Command {
  return new Command('report')
    .description('leaderboard by setting (mean ± std over seeds of the best validation accuracy), the best as a vit train command; writes leaderboard.csv, trials.csv and report.png in DIR')
    .argument('<dir>', 'the sweep folder')
    .action(runAction(async (dir: string) => {
      const sweep = await readSweep(dir);
      for (const line of await writeReport(sweep, await sweepProgress(sweep))) console.log(line);
    }));
}

/**
 * What each Slurm array task runs (see DIR/slurm.sh): one trial's vit train, resumed from its
 * last/ when it has one, with its outcome recorded. Usable by hand too.
 */
function trialCommand(): Command {
  return new Command('trial')
    .description('train one trial (what each Slurm array task runs): vit train on DIR/trials/NNN, resumed from its last/ when it has one')
    .argument('<dir>', 'the sweep folder')
    .argument('<index>', 'the trial\'s number (SLURM_ARRAY_TASK_ID)')
    .addOption(dataDirOption())
    .action(runAction(async (dir: string, index: string, flags: { dataDir: string }) => {
      const sweep = await readSweep(dir);
      const trial = sweep.file.trials[Number(index)];
      if (!/^\d+$/.test(index) || !trial) throw new UserError(`trial ${index}: ${dir} has trials 0 to ${sweep.file.trials.length - 1}`);
      const { SLURM_ARRAY_JOB_ID: arrayJob, SLURM_ARRAY_TASK_ID: task, SLURM_RESTART_COUNT: restarts } = process.env;
      const slurmJob = arrayJob && task ? `${arrayJob}_${task}` : null;

      // Slurm signals every process of the task; vit train saves on its own SIGTERM, and one more from here is harmless.
      let stop: (() => void) | null = null;
      let stopAsked = false;
      const onSignal = () => {
        stopAsked = true;
        stop?.();
      };
      process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
      try {
        const run = await startTrial(sweep, trial, { dataDir: flags.dataDir, threads: null, slurmJob });
        stop = () => run.stop();
        if (stopAsked) run.stop();
        const label = settingLabel({ ...trial.setting, seed: String(trial.seed) });
        const from = run.resumeFrom ? `resuming from ${run.resumeFrom.path} (${resumedAt(run.resumeFrom)})` : 'starting';
        const where = slurmJob ? ` as Slurm job ${slurmJob}${restarts && restarts !== '0' ? ` (restart ${restarts})` : ''}` : '';
        console.log(`trial ${trial.id} (${label}): ${from}${where}; log: ${sweep.layout.trainLog(trial.id)}`);
        const end = await run.ended;
        if (end.outcome === 'busy') throw new UserError(`trial ${trial.id} is being trained elsewhere (${end.heldBy})`);
        if (end.outcome === 'failed') throw new UserError(`trial ${trial.id} failed: ${end.reason}`);
        if (end.outcome === 'stopped') {
          console.log(`trial ${trial.id}: stopped; its last/ is saved and the next run resumes it`);
          process.exitCode = 130;
          return;
        }
        console.log(`trial ${trial.id}: done`);
      } finally {
        process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
      }
    }));
}

function count(text: string, flag: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UserError(`${flag} ${text}: expected a whole number, at least 1`);
  return n;
}

function kebab(key: string): string {
  return key === 'sbatchArg' ? 'sbatch-arg' : key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
}
