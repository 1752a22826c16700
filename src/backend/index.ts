import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '../config/schema.js';
import { UserError } from '../errors.js';
import { cpuDriver } from './cpu.js';
import { cudaDriver } from './cuda.js';
import type { BackendDriver, Capabilities } from './driver.js';
import type { BackendProbe, ConcreteBackend } from './probe.js';
import { AUTO_ORDER, chooseBackend } from './select.js';
import { tensorflowDriver } from './tensorflow.js';
import { wasmDriver } from './wasm.js';
import { webgpuDriver } from './webgpu.js';

export type { Capabilities } from './driver.js';
export type { BackendProbe, ConcreteBackend } from './probe.js';
export { AUTO_ORDER, chooseBackend } from './select.js';

const DRIVERS: Record<ConcreteBackend, BackendDriver> = {
  cuda: cudaDriver,
  webgpu: webgpuDriver,
  tensorflow: tensorflowDriver,
  wasm: wasmDriver,
  cpu: cpuDriver,
};

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

/** Probes every backend, in `auto`'s order (for `vit backends`). */
export async function probeBackends(): Promise<BackendProbe[]> {
  const probes: BackendProbe[] = [];
  for (const name of AUTO_ORDER) probes.push(await DRIVERS[name].probe());
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
    const probe = await DRIVERS[name].probe();
    probes.push(probe);
    if (probe.autoSelectable) break;
  }
  const { name, details } = chooseBackend(requested, probes);
  const driver = DRIVERS[name];
  const { tfjsName, dispose } = await driver.activate();
  // setBackend reports a failed initialisation (tfjs logs the cause) by returning false.
  if (!(await tf.setBackend(tfjsName))) {
    dispose();
    throw new UserError(`backend "${name}" failed to initialise (see the tfjs warning above)`);
  }
  await tf.ready();
  return { name, details, capabilities: driver.capabilities, dispose };
}
