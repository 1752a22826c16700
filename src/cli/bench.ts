import chalk from 'chalk';
import { Command, InvalidArgumentError } from 'commander';
import { useBackend } from '../backend/index.js';
import { loadConfig } from '../config/load.js';
import { type BackendName, type Config, ConfigSchema } from '../config/schema.js';
import { type BenchResult, measure } from '../speed/measure.js';
import { type KernelShare, profileStep } from '../speed/profile.js';
import { backendOption } from './common-options.js';
import { runAction } from './run-action.js';

interface BenchFlags {
  config?: string;
  backend?: BackendName;
  batch?: number;
  steps: number;
  warmup: number;
  json?: boolean;
  printConfig?: boolean;
  profile?: boolean;
  peak?: boolean;
}

export function benchCommand(): Command {
  return new Command('bench')
    .description('time training steps and inference on random batches: images/s, ms/step, GFLOP/s, peak memory')
    .option('-c, --config <file>', 'config file (JSON) whose model and optimizer to time (default: all defaults)')
    .addOption(backendOption())
    .option('--batch <n>', "batch size (default: the config's train.batch_size)", positiveInt)
    .option('--steps <n>', 'timed steps', positiveInt, 10)
    .option('--warmup <n>', 'untimed steps first', positiveInt, 2)
    .option('--json', 'print one JSON object instead of text')
    .option('--peak', "measure the SGEMM peak that MFU is relative to again (the best of every GEMM the machine has: vit's and each system BLAS; cached per machine and GEMM)")
    .option('--profile', 'instead of timing, list the kernels of one training step by their share of its time')
    .option('--print-config', 'print the resolved config (defaults filled in) as JSON and exit')
    .addHelpText('after', '\nExamples:\n  vit bench --config configs/bench-small.json --backend wasm\n  vit bench --batch 64 --json')
    .action(runAction(runBench));
}

async function runBench(flags: BenchFlags): Promise<void> {
  const config: Config = flags.config ? loadConfig(flags.config) : ConfigSchema.parse({});
  if (flags.printConfig) {
    console.log(JSON.stringify(config, null, 2));
    return;
  }
  const backend = await useBackend(flags.backend ?? config.backend);
  const batch = flags.batch ?? config.train.batch_size;
  try {
    if (flags.profile) {
      const { stepMs, kernels } = await profileStep(config, batch);
      if (flags.json) console.log(JSON.stringify({ backend: backend.name, batch, step_ms: stepMs, kernels }));
      else console.log(describeProfile(backend.name, batch, stepMs, kernels));
      return;
    }
    const result = await measure(config, backend.name, {
      batch,
      steps: flags.steps,
      warmup: flags.warmup,
      remeasurePeak: flags.peak,
    });
    console.log(flags.json ? JSON.stringify(result) : describe(result));
  } finally {
    backend.dispose();
  }
}

function describe(r: BenchResult): string {
  const f = (x: number, digits = 1) => x.toFixed(digits);
  const pct = (x: number) => `${(100 * x).toFixed(0)}%`;
  return [
    `${chalk.bold('backend')} ${r.backend} (${r.gemm}, ${r.threads} threads), batch ${r.batch}, ${r.params.toLocaleString('en-US')} parameters, ${r.steps} timed steps`,
    `${chalk.bold('train')}     ${f(r.train_images_per_second)} img/s  ${f(r.train_ms_per_step)} ms/step  ${f(r.train_gflops)} GFLOP/s  MFU ${pct(r.train_mfu)}`,
    `${chalk.bold('inference')} ${f(r.infer_images_per_second)} img/s  ${f(r.infer_ms_per_batch)} ms/batch  ${f(r.infer_gflops)} GFLOP/s  MFU ${pct(r.infer_mfu)}; one image alone ${f(r.infer_latency_ms, 2)} ms`,
    `${chalk.bold('peak')}      ${f(r.peak_gflops)} GFLOP/s: the best large SGEMM on these cores and threads, through ${r.peak_gemm}${r.peak_cached ? ' (cached; --peak measures again)' : ''}`,
    `${chalk.bold('memory')}    peak RSS ${f(r.peak_rss_mb, 0)} MB, tensors ${r.tensors_after_warmup} → ${r.tensors_after_steps}`,
  ].join('\n');
}

function describeProfile(backend: string, batch: number, stepMs: number, kernels: KernelShare[]): string {
  const rows = kernels.map((k) => `${k.kernel.padEnd(24)} ${k.percent.toFixed(1).padStart(5)}%  ${k.ms.toFixed(1).padStart(8)} ms  ${String(k.calls).padStart(5)} calls`);
  return [`${chalk.bold('profile')} ${backend}, batch ${batch}, one training step: ${stepMs.toFixed(0)} ms (profiled)`, ...rows].join('\n');
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}
