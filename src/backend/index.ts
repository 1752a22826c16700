import * as tf from '@tensorflow/tfjs';
import chalk from 'chalk';
import { cpus } from 'node:os';
import type { BackendName } from '../config/schema.js';
import { UserError } from '../errors.js';
import type { Capabilities } from './drivers/driver.js';
import { DRIVERS } from './drivers/index.js';
import { isInstalled, probeInChild } from './choose/isolated-probe.js';
import type { BackendProbe, ConcreteBackend } from './choose/probe.js';
import { AUTO_ORDER, chooseBackend } from './choose/select.js';
import { vulkanFailure } from './drivers/vulkan-log.js';
import { createQuietly, guardWasmMalloc } from './drivers/wasm-abort.js';
import { nativeStatus } from './native/addon.js';

export type { Capabilities } from './drivers/driver.js';
export type { BackendProbe, ConcreteBackend } from './choose/probe.js';
export { AUTO_ORDER, chooseBackend } from './choose/select.js';

// tfjs's own notices (the cpu backend's "Hi, looks like you are running TensorFlow.js in
// Node.js", flag overrides) go to console.warn unless PROD is set; vit says what matters itself.
tf.env().set('PROD', true);

/** The package holding each backend's native library, whose probe therefore runs in a child process. */
const NATIVE_PACKAGES: Partial<Record<ConcreteBackend, string>> = {
  cuda: '@tensorflow/tfjs-node-gpu',
  webgpu: 'webgpu',
  tensorflow: '@tensorflow/tfjs-node',
};

/**
 * Probes one backend without letting native libraries print to the user's terminal: those with a
 * native library installed are probed in a child process (see probeInChild); the rest, and
 * those whose package is absent (nothing native gets loaded), in this process.
 */
async function probe(name: ConcreteBackend): Promise<BackendProbe> {
  const pkg = NATIVE_PACKAGES[name];
  if (!pkg || !isInstalled(pkg)) return DRIVERS[name].probe();
  const found = await probeInChild(name);
  const vulkan = name === 'webgpu' && !found.available ? vulkanFailure(found.nativeLog ?? []) : undefined;
  return vulkan ? { ...found, reason: `Dawn found no WebGPU adapter: ${vulkan}` } : found;
}

/** The backend tfjs now computes on. */
export interface ActiveBackend {
  name: ConcreteBackend;
  details: Record<string, string>;
  capabilities: Capabilities;
  /**
   * Releases what would keep the process alive (Dawn's GPU device). tfjs must not compute on this
   * backend afterwards, until the next useBackend().
   */
  dispose(): void;
}

const warned = new Set<string>();

/** A warning on stderr (stdout may be JSON), once per process however often the backend is set. */
function warnOnce(line: string): void {
  if (warned.has(line)) return;
  warned.add(line);
  process.stderr.write(`${chalk.yellow('warning:')} ${line}\n`);
}

/** Probes every backend, in `auto`'s order (for `vit backends`). */
export async function probeBackends(): Promise<BackendProbe[]> {
  const probes: BackendProbe[] = [];
  for (const name of AUTO_ORDER) probes.push(await probe(name));
  return probes;
}

/**
 * Makes `requested` tfjs's backend. A backend asked for by name that cannot run here is a
 * UserError saying why; `auto` probes in order and stops at the first it may pick, so a backend's
 * package is only loaded when it is needed.
 */
export async function useBackend(requested: BackendName): Promise<ActiveBackend> {
  const candidates = requested === 'auto' ? AUTO_ORDER : [requested];
  const probes: BackendProbe[] = [];
  for (const name of candidates) {
    const found = await probe(name);
    probes.push(found);
    if (found.autoSelectable) break;
  }
  const { name, details } = chooseBackend(requested, probes);
  const driver = DRIVERS[name];
  const { tfjsName, dispose, warnings = [] } = await driver.activate();
  for (const line of warnings) warnOnce(line);
  // setBackend reports a failed initialisation (tfjs logs the cause) by returning false. The first
  // setBackend("wasm") creates the Emscripten module, which keeps the console.warn it finds then
  // for its abort print: createQuietly hands it one without that line (other backends unaffected).
  if (!(await createQuietly(() => tf.setBackend(tfjsName)))) {
    dispose();
    throw new UserError(`backend "${name}" failed to initialise (see the tfjs warning above)`);
  }
  await tf.ready();
  if (tfjsName === 'wasm') guardWasmMalloc();
  return { name, details, capabilities: driver.capabilities, dispose };
}

/**
 * What bit-exactness depends on: the same set-up replays a run bit for bit, another one only
 * approximately. Checkpoints record it; `vit train --resume` compares.
 */
export interface ComputeSetup {
  backend: string;
  /** What computes the matrix products: "vit avx512 6x64", a system BLAS, or the backend's own kernels. */
  gemm: string;
  threads: number;
  cpu: string;
  cores: number;
}

export function computeSetup(backend: string): ComputeSetup {
  const native = backend === 'wasm' ? nativeStatus() : null;
  const gemm = native === null ? `${backend} kernels` : native.available ? native.setup.gemm : 'wasm kernels';
  const threads = native?.available ? native.setup.threads : 1;
  return { backend, gemm, threads, cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length };
}

/**
 * Why a run computed with `saved` will not continue bit for bit with `current`, or null when it
 * will. vit's own GEMM gives the same bits on any number of threads (its work is cut by size);
 * a system BLAS may not, so there the thread count counts too.
 */
export function exactnessBreak(saved: ComputeSetup, current: ComputeSetup): string | null {
  const differences: string[] = [];
  if (saved.backend !== current.backend) differences.push(`backend ${saved.backend} → ${current.backend}`);
  if (saved.gemm !== current.gemm) differences.push(`products by ${saved.gemm} → ${current.gemm}`);
  else if (!saved.gemm.startsWith('vit ') && saved.threads !== current.threads) differences.push(`${saved.threads} → ${current.threads} threads`);
  return differences.length > 0 ? differences.join(', ') : null;
}
