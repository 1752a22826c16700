import * as tf from '@tensorflow/tfjs';
import chalk from 'chalk';
import { Command } from 'commander';
import { chooseBackend, probeBackends, type BackendProbe } from '../backend/index.js';
import { nativeStatus } from '../backend/native/addon.js';
import { runAction } from './run-action.js';

export function backendsCommand(): Command {
  return new Command('backends')
    .description('list the compute backends: which can run here, why not, and which one `auto` picks')
    .option('--json', 'print one JSON object instead of text')
    .option('--verbose', "also print what each backend's native library logged while probed (Dawn, Vulkan, libtensorflow)")
    .action(runAction(runBackends));
}

async function runBackends(flags: { json?: boolean; verbose?: boolean }): Promise<void> {
  const probes = await probeBackends();
  const auto = chooseBackend('auto', probes).name;
  const native = nativeReport();
  if (flags.json) {
    console.log(JSON.stringify({ tfjs: tf.version.tfjs, auto, backends: probes, native }, null, 2));
    return;
  }
  console.log(`${chalk.bold('tfjs')} ${tf.version.tfjs}`);
  const width = Math.max(...probes.map((p) => p.name.length)) + 2;
  const indent = ' '.repeat(width);
  for (const probe of probes) {
    const details = describe(probe.details);
    console.log(`${chalk.bold(probe.name.padEnd(width))}${status(probe)}${details && `  ${chalk.dim(details)}`}`);
    if (probe.reason) console.log(`${indent}${probe.reason}`);
    if (probe.fix) console.log(`${indent}${chalk.dim(probe.fix)}`);
    if (flags.verbose) for (const line of probe.nativeLog ?? []) console.log(`${indent}${chalk.dim(`| ${line}`)}`);
  }
  console.log(`${chalk.bold('auto')} picks ${chalk.cyan(auto)}`);
  console.log(`${chalk.bold('native'.padEnd(width))}${native.available ? `${native.gemm}, ${native.threads} threads` : chalk.red(`off: ${native.reason}`)}`);
  if (native.fix) console.log(`${indent}${chalk.dim(`fix: ${native.fix}`)}`);
  if (native.blas_fallback) console.log(`${indent}${native.blas_fallback}`);
  const found = native.system_blases.length > 0 ? native.system_blases.join('; ') : 'none';
  if (native.available) console.log(`${indent}${chalk.dim(`system BLAS found: ${found} (VIT_BLAS chooses; see docs/backends.md)`)}`);
}

/**
 * The wasm backend's native kernels: what computes the products (vit's GEMM or a system BLAS) on
 * how many threads, every system BLAS found, or why the kernels are off and what fixes it.
 */
function nativeReport() {
  const native = nativeStatus();
  if (!native.available) return { available: false, reason: native.reason, fix: native.fix, system_blases: [] as string[] };
  return {
    available: true,
    gemm: native.setup.gemm,
    threads: native.setup.threads,
    blas_fallback: native.blasFallback || undefined,
    system_blases: native.addon.systemBlases(),
  };
}

function status(probe: BackendProbe): string {
  if (!probe.available) return chalk.red('unavailable');
  return probe.autoSelectable ? chalk.green('available') : chalk.yellow('available only by name');
}

function describe(details: Record<string, string>): string {
  return Object.entries(details)
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}
