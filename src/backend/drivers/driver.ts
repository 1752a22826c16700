import type { BackendProbe } from '../choose/probe.js';

/**
 * What the training code may depend on, instead of asking which backend runs: code that checks
 * capabilities keeps working when a backend is added.
 */
export interface Capabilities {
  /**
   * Bytes that all tensors of one training step (kept for the backward pass) must fit in, or null
   * when the device's own memory is the only limit. wasm's heap is capped at 4 GiB; a step that
   * needs more aborts, and the CLI says so in one line (wasm-abort.ts). The trainer does not split
   * batches to fit: a smaller train.batch_size is the user's remedy.
   */
  memoryLimitBytes: number | null;
}

/** One backend: how to find out whether it can run here, and how to make it tfjs's backend. */
export interface BackendDriver {
  capabilities: Capabilities;
  probe(): Promise<BackendProbe>;
  /**
   * Registers the backend into `@tensorflow/tfjs` (after a probe said it is available) and returns
   * the name tfjs knows it by, and what must be released before the process can exit.
   */
  activate(): Promise<{ tfjsName: string; dispose(): void; /** Lines the user must see (e.g. a fast path that is off). */ warnings?: string[] }>;
}

export const NO_MEMORY_LIMIT: Capabilities = { memoryLimitBytes: null };
