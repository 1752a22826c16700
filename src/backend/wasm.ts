import * as tf from '@tensorflow/tfjs';
import type { BackendDriver } from './driver.js';
import { declareKernelTraits } from './kernel-traits.js';
import { nativeKernelsAvailable, useNativeKernels } from './native-kernels.js';
import { importOptional } from './optional-import.js';
import { shareIdentityOnWasm } from './wasm-identity.js';
import { availableProbe, unavailableProbe } from './probe.js';

/** wasm32 addresses at most 4 GiB; tfjs-backend-wasm aborts the process beyond it. */
const WASM_HEAP_BYTES = 4 * 1024 ** 3;
const REINSTALL = 'It is a regular dependency: reinstall the dependencies with `npm ci`.';

/** tfjs-backend-wasm (XNNPACK): the fastest backend that needs no native library or GPU. */
export const wasmDriver: BackendDriver = {
  capabilities: { memoryLimitBytes: WASM_HEAP_BYTES },

  async probe() {
    // Importing it registers "wasm" and its feature flags into the shared tfjs engine.
    const loaded = await importOptional('@tensorflow/tfjs-backend-wasm');
    if (loaded.status === 'missing') {
      return unavailableProbe('wasm', '@tensorflow/tfjs-backend-wasm is not installed', REINSTALL);
    }
    if (loaded.status === 'failed') {
      return unavailableProbe('wasm', `@tensorflow/tfjs-backend-wasm failed to load: ${loaded.message}`, REINSTALL);
    }
    const { version_wasm } = loaded.module as { version_wasm: string };
    const yesNo = async (flag: string) => ((await tf.env().getAsync(flag)) ? 'yes' : 'no');
    return availableProbe('wasm', {
      version: version_wasm,
      simd: await yesNo('WASM_HAS_SIMD_SUPPORT'),
      // tfjs-backend-wasm 4.x disables its worker threads in Node, so this reads "no" there.
      threads: await yesNo('WASM_HAS_MULTITHREAD_SUPPORT'),
      native: nativeDetail(),
    });
  },

  async activate() {
    shareIdentityOnWasm();
    const native = useNativeKernels();
    // Plain wasm runs transposed matMuls on a scalar loop; the native kernels do not.
    declareKernelTraits('wasm', { transposedMatMulIsFast: native.installed });
    return { tfjsName: 'wasm', dispose() {} };
  },
};

/** The optional native kernels (native/): OpenBLAS matMuls and fused GELU, LayerNorm, attention on the wasm heap. */
function nativeDetail(): string {
  const { available, reason, blasCore } = nativeKernelsAvailable();
  if (!available) return `no: ${reason}`;
  return blasCore ? `yes (OpenBLAS, ${blasCore} kernels)` : 'yes (OpenBLAS)';
}
