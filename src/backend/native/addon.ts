import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The optional native addon (native/, built by `npm ci`): vit's own multithreaded GEMM and fused
 * kernels that run on tfjs-backend-wasm's heap. This file loads it and says what it computes
 * with, or why it cannot run; kernels.ts installs its kernels into the wasm backend.
 */
export interface NativeAddon {
  info(): { abi: number; gemm: string; gemmFallback: string; threads: number };
  systemBlases(): string[];
  matMul(heap: ArrayBuffer, a: number, b: number, out: number, batch: number, m: number, n: number, k: number, transposeA: boolean, transposeB: boolean, strideA: number, strideB: number): void;
  affine(heap: ArrayBuffer, x: number, w: number, bias: number, out: number, m: number, n: number, k: number): void;
  gelu(heap: ArrayBuffer, x: number, out: number, n: number): void;
  geluGrad(heap: ArrayBuffer, x: number, dy: number, out: number, n: number): void;
  silu(heap: ArrayBuffer, x: number, out: number, n: number): void;
  siluGrad(heap: ArrayBuffer, x: number, dy: number, out: number, n: number): void;
  add(heap: ArrayBuffer, a: number, b: number, out: number, n: number): void;
  layerNorm(heap: ArrayBuffer, x: number, weight: number, bias: number, out: number, normalized: number, invStd: number, rows: number, dim: number, eps: number): void;
  layerNormGrad(heap: ArrayBuffer, dy: number, normalized: number, invStd: number, weight: number, dx: number, dWeight: number, dBias: number, rows: number, dim: number): void;
  attention(heap: ArrayBuffer, qkv: number, out: number, probs: number, batch: number, heads: number, n: number, d: number, scale: number, maskDiagonal: boolean): void;
  attentionGrad(heap: ArrayBuffer, dOut: number, qkv: number, probs: number, dQkv: number, batch: number, heads: number, n: number, d: number, scale: number): void;
  windowAttention(heap: ArrayBuffer, qkv: number, bias: number, out: number, probs: number, ...shapeBiasWindowsScale: number[]): void;
  windowAttentionGrad(heap: ArrayBuffer, dOut: number, qkv: number, probs: number, dQkv: number, dLogits: number, ...shapeScale: number[]): void;
  depthwiseConv(heap: ArrayBuffer, x: number, weight: number, bias: number, y: number, ...shape: number[]): void;
  depthwiseConvGrad(heap: ArrayBuffer, dy: number, x: number, weight: number, dx: number, dWeight: number, dBias: number, ...shape: number[]): void;
  batchNorm(heap: ArrayBuffer, x: number, weight: number, bias: number, y: number, mean: number, variance: number, invStd: number, n: number, c: number, eps: number, activation: number): void;
  batchNormApply(heap: ArrayBuffer, x: number, scale: number, shift: number, y: number, n: number, c: number, activation: number): void;
  batchNormGrad(heap: ArrayBuffer, dy: number, x: number, mean: number, invStd: number, weight: number, bias: number, dx: number, dWeight: number, dBias: number, n: number, c: number, activation: number): void;
  im2col(heap: ArrayBuffer, x: number, out: number, ...window: number[]): void;
  im2colGrad(heap: ArrayBuffer, dy: number, dx: number, ...window: number[]): void;
  maxPool(heap: ArrayBuffer, x: number, y: number, ...window: number[]): void;
  maxPoolGrad(heap: ArrayBuffer, dy: number, x: number, y: number, dx: number, ...window: number[]): void;
  slice(heap: ArrayBuffer, x: number, out: number, elementBytes: number, geometry: Float64Array): void;
  permute(heap: ArrayBuffer, x: number, out: number, elementBytes: number, geometry: Float64Array): void;
  optimizerStep(heap: ArrayBuffer, table: Float64Array, ...settingsAndNormOut: (number | boolean)[]): void;
  /** The field names of one row of optimizerStep's table, in order. */
  optimizerTableLayout(): string[];
}

/**
 * What running without the native kernels costs. Measured on the 2-core machine of
 * docs/performance.md: configs/cpu-1h.json trains at 23 img/s on plain wasm, ~600 with them.
 */
export const SLOWDOWN = 'CPU training runs about 25x slower';

/** The addon's argument lists this code was written for (native/src/addon.cc's kAbi). */
const ABI = 12;
const ADDON_PATH = fileURLToPath(new URL('../../../native/build/Release/vit_native.node', import.meta.url));
/** What native/build.mjs wrote about the last build: `{ built, reason, fix }`. */
const BUILD_STATUS_PATH = fileURLToPath(new URL('../../../native/build-status.json', import.meta.url));

/** With the native kernels: what computes the products (e.g. "vit avx512 6x64") and on how many threads. */
export interface NativeSetup {
  gemm: string;
  threads: number;
}

export type NativeStatus =
  | { available: true; addon: NativeAddon; setup: NativeSetup; /** Why a system BLAS asked for (VIT_BLAS) is not used. */ blasFallback: string }
  | { available: false; reason: string; /** The command that fixes it, when there is one. */ fix: string | null };

let status: NativeStatus | null = null;

/** Whether the native kernels can run here and with what, or why not (decided once per process). */
export function nativeStatus(): NativeStatus {
  status ??= loadStatus();
  return status;
}

function loadStatus(): NativeStatus {
  if (process.env.VIT_NATIVE === '0') return { available: false, reason: 'VIT_NATIVE=0 turns them off', fix: null };
  const path = process.env.VIT_NATIVE_ADDON || ADDON_PATH;
  if (!existsSync(path)) return notBuilt(path);
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (err) {
    const first = (err as Error).message.split('\n')[0];
    return { available: false, reason: `the native addon does not load (${first})`, fix: 'npm run native' };
  }
  const info = typeof addon.info === 'function' ? addon.info() : null;
  if (info?.abi !== ABI) return { available: false, reason: 'the native addon was built from older sources', fix: 'npm run native' };
  return { available: true, addon, setup: { gemm: info.gemm, threads: info.threads }, blasFallback: info.gemmFallback };
}

/** No addon file: say why the build failed and what fixes it, as native/build.mjs recorded them. */
function notBuilt(path: string): NativeStatus {
  const recorded = path === ADDON_PATH ? readBuildStatus() : null;
  if (recorded === null) return { available: false, reason: `the native addon is not built (${path} is missing)`, fix: 'npm run native' };
  return { available: false, reason: `the native addon is not built: ${recorded.reason}`, fix: recorded.fix };
}

function readBuildStatus(): { reason: string; fix: string } | null {
  try {
    const parsed = JSON.parse(readFileSync(BUILD_STATUS_PATH, 'utf8')) as { built?: boolean; reason?: unknown; fix?: unknown };
    if (parsed.built !== false || typeof parsed.reason !== 'string') return null;
    return { reason: parsed.reason, fix: typeof parsed.fix === 'string' ? parsed.fix : 'npm run native' };
  } catch {
    return null;
  }
}
