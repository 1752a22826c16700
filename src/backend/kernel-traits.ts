import * as tf from '@tensorflow/tfjs';

/**
 * Facts about the active backend's kernels that model code may use to choose between two
 * equivalent formulations, without ever asking which backend runs. A backend driver declares
 * them when it activates; a backend that declared nothing gets the defaults.
 */
export interface KernelTraits {
  /** matMul with transposeA/transposeB is as fast as a plain one (false: transpose explicitly first). */
  transposedMatMulIsFast: boolean;
}

const DEFAULTS: KernelTraits = { transposedMatMulIsFast: true };
const declared = new Map<string, KernelTraits>();

export function declareKernelTraits(tfjsBackendName: string, traits: KernelTraits): void {
  declared.set(tfjsBackendName, traits);
}

export function kernelTraits(): KernelTraits {
  return declared.get(tf.getBackend()) ?? DEFAULTS;
}

/** Whether the active backend has a kernel of this name (e.g. an optional fused one). */
export function hasKernel(kernelName: string): boolean {
  return tf.getKernel(kernelName, tf.getBackend()) !== undefined;
}
