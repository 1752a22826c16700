import * as tf from '@tensorflow/tfjs';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { type ComputeSetup, computeSetup } from '../backend/index.js';
import { writeFileAtomic } from '../util/atomic.js';

/**
 * The machine's practical limit for model-FLOPs utilisation (MFU): the best GFLOP/s of large square
 * float32 products through the active backend's own matMul (for wasm with the native kernels: vit's
 * GEMM, or the system BLAS VIT_BLAS chose), on the same threads a training step uses. Measured
 * once per compute set-up and kept in ~/.cache/vit/sgemm-peak.json (XDG_CACHE_HOME is honoured);
 * `vit bench --peak` measures again, e.g. after a run on a busy machine.
 */
export interface SgemmPeak {
  gflops: number;
  /** The side of the square products timed. */
  size: number;
  /** Read from the cache rather than measured now. */
  cached: boolean;
}

/** Products grow until one takes this long (or reach MAX_SIZE), so a slow backend is not timed for minutes. */
const TARGET_MS = 40;
const MAX_SIZE = 2048;
const REPEATS = 8;

export async function sgemmPeak(backend: string, opts: { remeasure?: boolean } = {}): Promise<SgemmPeak> {
  const setup = computeSetup(backend);
  const key = cacheKey(setup);
  const cache = await readCache();
  const known = cache[key];
  if (known && !opts.remeasure) return { ...known, cached: true };
  const measured = await measurePeak();
  cache[key] = measured;
  await writeCache(cache).catch(() => undefined); // a read-only home only costs a re-measurement
  return { ...measured, cached: false };
}

/** The best of REPEATS timed products at the largest size that fits TARGET_MS. */
async function measurePeak(): Promise<{ gflops: number; size: number }> {
  let size = 256;
  while (size < MAX_SIZE && (await productMs(size)) < TARGET_MS / 2) size *= 2;
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < REPEATS; i++) best = Math.min(best, await productMs(size));
  return { gflops: (2 * size ** 3) / (best * 1e6), size };
}

async function productMs(size: number): Promise<number> {
  const [a, b] = [tf.randomNormal([size, size], 0, 1, 'float32', 1), tf.randomNormal([size, size], 0, 1, 'float32', 2)];
  await tf.matMul(a, b).data(); // warm: the output buffer and the packing buffers exist
  const start = performance.now();
  const c = tf.matMul(a, b);
  await c.data();
  const ms = performance.now() - start;
  tf.dispose([a, b, c]);
  return ms;
}

function cacheKey(s: ComputeSetup): string {
  return `${s.backend} | ${s.gemm} | ${s.threads} threads | ${s.cpu} | ${s.cores} cores`;
}

function cachePath(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vit', 'sgemm-peak.json');
}

type Cache = Record<string, { gflops: number; size: number }>;

async function readCache(): Promise<Cache> {
  try {
    const parsed = JSON.parse(await readFile(cachePath(), 'utf8')) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Cache) : {};
  } catch {
    return {};
  }
}

async function writeCache(cache: Cache): Promise<void> {
  await mkdir(dirname(cachePath()), { recursive: true });
  await writeFileAtomic(cachePath(), `${JSON.stringify(cache, null, 2)}\n`);
}
