import * as tf from '@tensorflow/tfjs';
import type { BackendDriver } from './driver.js';
import { declareKernelTraits } from '../kernel-traits.js';
import { UserError } from '../../errors.js';
import { SLOWDOWN, nativeStatus } from '../native/addon.js';
import { useNativeKernels } from '../native/kernels.js';
import { importOptional } from './optional-import.js';
import { shareIdentityOnWasm } from './wasm-identity.js';
import { availableProbe, unavailableProbe } from '../choose/probe.js';

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
      ...gemmDetail(),
    });
  },

  async activate() {
    shareIdentityOnWasm();
    const native = useNativeKernels();
    if (!native.installed && /^(1|true|yes)$/i.test(process.env.VIT_REQUIRE_NATIVE ?? '')) {
      throw new UserError(`VIT_REQUIRE_NATIVE is set, but the native kernels cannot run: ${native.reason}`);
    }
    // Plain wasm runs transposed matMuls on a scalar loop; the native kernels do not.
    declareKernelTraits('wasm', { transposedMatMulIsFast: native.installed });
    return { tfjsName: 'wasm', dispose() {}, warnings: nativeWarnings() };
  },
};

/** The native kernels (native/): vit's GEMM and fused GELU, LayerNorm, attention, windows on the wasm heap. */
function nativeDetail(): string {
  const native = nativeStatus();
  return native.available ? 'yes' : `no: ${native.reason}`;
}

/** With the native kernels, what computes the products and on how many threads, e.g. "vit avx512 6x64, 2 threads". */
function gemmDetail(): Record<string, string> {
  const native = nativeStatus();
  return native.available ? { gemm: `${native.setup.gemm}, ${native.setup.threads} threads` } : {};
}

/**
 * The one line a user must not miss when the fast path is off (what is missing, what it costs,
 * what fixes it), and the one when a system BLAS asked for with VIT_BLAS could not be used.
 */
function nativeWarnings(): string[] {
  const native = nativeStatus();
  if (!native.available) {
    const fix = native.fix ? `; fix: ${native.fix}` : '';
    return [`the native CPU kernels are off (${native.reason}), so ${SLOWDOWN}${fix}`];
  }
  return native.blasFallback ? [`${native.blasFallback}; vit's own GEMM runs instead`] : [];
}
