import chalk from 'chalk';
import { Command } from 'commander';
import { basename, dirname, join } from 'node:path';
import { computeSetup, exactnessBreak, useBackend } from '../backend/index.js';
import { type NamedArrays, checkShapes, loadCheckpoint } from '../checkpoint/checkpoint.js';
import { loadConfig, parseConfig } from '../config/load.js';
import { applyOverride } from '../config/override.js';
import type { BackendName, Config } from '../config/schema.js';
import { summarizeConfig } from '../config/summary.js';
import { loadDataset } from '../data/cifar10.js';
import { ensureDataset } from '../data/download.js';
import { UserError } from '../errors.js';
import { FAMILY_NAMES } from '../families/index.js';
import { countParams, modelName, stateShapes } from '../model/index.js';
import { createRunDir } from '../train/run-dir.js';
import { type TrainEvents, train } from '../train/trainer.js';
import { writeFileAtomic } from '../util/atomic.js';
import { backendOption, dataDirOption, setOption } from './common-options.js';
import { runAction } from './run-action.js';
import { printValAccuracyChart, writeRunCurves } from './train-curves.js';
import { trainReporter } from './train-reporter.js';

interface TrainFlags {
  config?: string;
  set?: string[];
  resume?: string;
  dataDir: string;
  backend?: BackendName;
  printConfig?: boolean;
}

export function trainCommand(): Command {
  return new Command('train')
    .description(`train a model (model.name: ${FAMILY_NAMES.join(', ')}) on CIFAR-10 or CIFAR-100 (data.dataset), evaluating every epoch; writes checkpoints/<run>/ (config.json, metrics.csv, best/, last/)`)
    .option('-c, --config <file>', 'config file (JSON), e.g. configs/smoke.json')
    .addOption(setOption())
    .option('--resume <checkpoint>', 'continue a run exactly from its checkpoint, e.g. checkpoints/smoke/last')
    .addOption(dataDirOption())
    .addOption(backendOption())
    .option('--print-config', 'print the whole resolved config (JSON) instead of its summary')
    .addHelpText('after', '\nExamples:\n  vit train --config configs/smoke.json\n  vit train --config configs/vit-cifar10.json --set train.epochs=50 --backend wasm\n  vit train --resume checkpoints/vit-cifar10/last')
    .action(runAction(runTrain));
}

async function runTrain(flags: TrainFlags): Promise<void> {
  if (!flags.config && !flags.resume) throw new UserError('train needs --config <file> (or --resume <checkpoint>)');
  const resume = flags.resume ? await loadCheckpoint(flags.resume) : undefined;
  const config = resume ? resumedConfig(resume.config, flags) : loadConfig(flags.config!, flags.set);
  if (resume) checkShapes(resume.weights, stateShapes(config.model), `${flags.resume}/weights.safetensors`);
  const initWeights = !resume && config.train.init_from ? await startingWeights(config) : undefined;

  const backend = await useBackend(flags.backend ?? config.backend);
  try {
    const data = await loadDataset(await ensureDataset(flags.dataDir, config.data.dataset), config.data);
    const runDir = resume ? dirname(flags.resume!) : await createRunDir(config.checkpoint_dir, config.run_name!);
    if (!resume) await writeFileAtomic(join(runDir, 'config.json'), JSON.stringify(config, null, 2) + '\n');

    printConfig(config, runDir, flags.printConfig);
    console.log(`${chalk.bold('backend'.padEnd(SUMMARY_WIDTH))}${backend.name} ${chalk.dim(describe(backend.details))}`);
    const changed = resume?.meta.compute ? exactnessBreak(resume.meta.compute, computeSetup(backend.name)) : null;
    if (changed) {
      process.stderr.write(`${chalk.yellow('note:')} ${flags.resume} was computed with another set-up (${changed}): the run continues, but not bit for bit as it would have\n`);
    }

    const abort = new AbortController();
    let interrupts = 0;
    const onSignal = (signal: NodeJS.Signals) => {
      // A second Ctrl-C stops now. SIGTERM never does: a scheduler (Slurm signals every process of
      // a job, and again on preemption) or `vit sweep` may send it more than once, and it is the
      // scheduler's own SIGKILL, after its grace time, that ends a run which does not stop.
      if (signal === 'SIGINT' && ++interrupts > 1) process.exit(130);
      if (abort.signal.aborted) return;
      process.stderr.write(`\n${chalk.yellow(`${signal}: finishing the current step and saving last/ (Ctrl-C again to quit now)`)}\n`);
      abort.abort();
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
    const reporter = trainReporter();
    try {
      const events: TrainEvents = {
        ...reporter,
        async epoch(row, info) {
          reporter.epoch?.(row, info);
          await writeRunCurves(runDir, basename(runDir));
        },
      };
      const result = await train({ config, data, runDir, backend: backend.name, resume, initWeights, events, signal: abort.signal });
      reporter.stop();
      const best = result.state.best;
      const bestText = best ? `best ${best.monitor} ${best.value.toFixed(4)} at epoch ${best.epoch} (${join(runDir, 'best')})` : 'no best checkpoint';
      if (result.reason === 'interrupted') {
        process.stderr.write(`${chalk.yellow(result.message)}; saved ${join(runDir, 'last')}\n`);
        process.stderr.write(`resume with: vit train --resume ${join(runDir, 'last')}\n`);
        process.exitCode = 130;
        return;
      }
      console.log(`${chalk.green('done')}: ${result.message}; ${bestText}`);
      await printValAccuracyChart(runDir);
      console.log(`evaluate with: vit eval --checkpoint ${join(runDir, 'best')}`);
    } finally {
      reporter.stop();
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
    }
  } finally {
    backend.dispose();
  }
}

const SUMMARY_WIDTH = 16;

/**
 * The config as a few lines (headline keys and what differs from the defaults), or all of it with
 * --print-config; the run's config.json always holds all of it.
 */
function printConfig(config: Config, runDir: string, full = false): void {
  if (full) {
    console.log(JSON.stringify(config, null, 2));
    return;
  }
  const params = `${modelName(config.model)}, ${countParams(config.model).toLocaleString('en-US')} parameters`;
  for (const { section, text } of summarizeConfig(config, { model: params })) {
    console.log(`${chalk.bold(section.padEnd(SUMMARY_WIDTH))}${text}`);
  }
  console.log(chalk.dim(`${''.padEnd(SUMMARY_WIDTH)}(other keys at their defaults; all of them: ${join(runDir, 'config.json')} or --print-config)`));
}

/** A resumed run keeps its config; `--set` may still change keys such as train.epochs. */
function resumedConfig(saved: Config, flags: TrainFlags): Config {
  if (flags.config) throw new UserError('--resume uses the config saved with the checkpoint; drop --config (use --set to change keys)');
  const raw = structuredClone(saved) as Record<string, unknown>;
  for (const o of flags.set ?? []) applyOverride(raw, o);
  return parseConfig(raw, `${flags.resume}/config.json with --set`);
}

function describe(details: Record<string, string>): string {
  return Object.entries(details)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** train.init_from: the weights of that checkpoint directory, checked against this config's model. */
async function startingWeights(config: Config): Promise<{ arrays: NamedArrays; source: string }> {
  const dir = config.train.init_from!;
  const source = `train.init_from: ${dir}/weights.safetensors`;
  const arrays = await loadCheckpoint(dir).then(
    (ckpt) => ckpt.weights,
    (err: unknown) => {
      throw err instanceof UserError ? new UserError(`train.init_from: ${err.message}`) : err;
    },
  );
  checkShapes(arrays, stateShapes(config.model), source);
  return { arrays, source };
}
