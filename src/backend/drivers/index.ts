import { cpuDriver } from './cpu.js';
import { cudaDriver } from './cuda.js';
import type { BackendDriver } from './driver.js';
import type { ConcreteBackend } from '../choose/probe.js';
import { tensorflowDriver } from './tensorflow.js';
import { wasmDriver } from './wasm.js';
import { webgpuDriver } from './webgpu.js';

/** Every backend's driver, by name. */
export const DRIVERS: Record<ConcreteBackend, BackendDriver> = {
  cuda: cudaDriver,
  webgpu: webgpuDriver,
  tensorflow: tensorflowDriver,
  wasm: wasmDriver,
  cpu: cpuDriver,
};
