import * as tf from '@tensorflow/tfjs';
import { spawnSync } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ComputeSetup, computeSetup } from '../backend/index.js';
import { nativeStatus } from '../backend/native/addon.js';
import { writeFileAtomic } from '../util/atomic.js';

/**
 * The machine's practical limit for model-FLOPs utilisation (MFU): the best GFLOP/s of large square
 * float32 products that any GEMM this machine has reaches on the threads a training step uses.
 * For wasm with the native kernels that is the best of vit's GEMM and every system BLAS found
 * (each timed in its own process, as VIT_BLAS would choose it), whichever computes the run: MFU
 * measured against the GEMM in use alone would flatter a slow one (above 100% where it is slower
 * than the cores allow). Elsewhere, the backend's own matMul. Measured once per GEMM and machine
 * and kept in ~/.cache/vit/sgemm-peak.json (XDG_CACHE_HOME is honoured); `vit bench --peak`
 * measures again, e.g. after a run on a busy machine.
 */
export interface SgemmPeak {
  gflops: number;
  /** The side of the square products timed. */
  size: number;
  /** What reached it ("vit avx512 6x64", "OpenBLAS (0.3.21, …) libopenblas.so.0", "wasm kernels"). */
  gemm: string;
  /** Read from the cache rather than measured now. */
  cached: boolean;
}

/** Products grow until one takes this long (or reach MAX_SIZE), so a slow backend is not timed for minutes. */
const TARGET_MS = 40;
const MAX_SIZE = 2048;
const REPEATS = 8;

export async function sgemmPeak(backend: string, opts: { remeasure?: boolean } = {}): Promise<SgemmPeak> {
  const setup = computeSetup(backend);
  const cache = await readCache();
  const lookup = (key: string) => (opts.remeasure ? undefined : cache[key]);
  const ownKey = cacheKey(setup, setup.gemm);
  const own = lookup(ownKey);
  const peaks: SgemmPeak[] = [own ? { ...own, gemm: setup.gemm, cached: true } : { ...(await measurePeak()), gemm: setup.gemm, cached: false }];
  cache[ownKey] = withoutCached(peaks[0]);
  for (const choice of otherGemms(backend, setup.gemm)) {
    const key = cacheKey(setup, `VIT_BLAS=${choice}`);
    const known = lookup(key);
    const peak = known?.gemm ? { ...known, gemm: known.gemm, cached: true } : measureInChild(choice, backend);
    if (peak === null) continue; // it does not load here after all
    cache[key] = withoutCached(peak);
    peaks.push(peak);
  }
  await writeCache(cache).catch(() => undefined); // a read-only home only costs a re-measurement
  return peaks.reduce((best, p) => (p.gflops > best.gflops ? p : best));
}

type Measured = Omit<SgemmPeak, 'cached'>;
const withoutCached = ({ cached: _, ...measured }: SgemmPeak): Measured => measured;

/**
 * VIT_BLAS values for the GEMMs the native addon could use instead of `inUse`: vit's own
 * ("vit avx512 6x64", …) and each family of system BLAS found (a description starts with its
 * family: "OpenBLAS (0.3.21, …) libopenblas.so.0"; VIT_BLAS=openblas loads the first found).
 */
function otherGemms(backend: string, inUse: string): string[] {
  const native = backend === 'wasm' ? nativeStatus() : null;
  if (!native?.available) return [];
  const familyOf = (gemm: string) => gemm.split(' ')[0].toLowerCase();
  const families = [...new Set(native.addon.systemBlases().map(familyOf))];
  return [...(inUse.startsWith('vit ') ? [] : ['builtin']), ...families.filter((family) => family !== familyOf(inUse))];
}

/** The peak of the GEMM VIT_BLAS=`choice` selects, timed in a process of its own (peak-probe.ts), or null where it does not load. */
function measureInChild(choice: string, backend: string): SgemmPeak | null {
  const probe = fileURLToPath(new URL(import.meta.url.endsWith('.ts') ? './peak-probe.ts' : './peak-probe.js', import.meta.url));
  const run = spawnSync(process.execPath, [...process.execArgv, probe, backend], { encoding: 'utf8', env: { ...process.env, VIT_BLAS: choice } });
  if (run.status !== 0) return null;
  try {
    const measured = JSON.parse(run.stdout) as Measured;
    return { ...measured, cached: false };
  } catch {
    return null;
  }
}

/** The best of REPEATS timed products at the largest size that fits TARGET_MS, through the active backend. */
export async function measurePeak(): Promise<{ gflops: number; size: number }> {
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

/** The cache's key of `gemm` (a GEMM's name, or the VIT_BLAS value that chooses it) on this machine. */
function cacheKey(s: ComputeSetup, gemm: string): string {
  return `${s.backend} | ${gemm} | ${s.threads} threads | ${s.cpu} | ${s.cores} cores`;
}

function cachePath(): string {
  return join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'vit', 'sgemm-peak.json');
}

type Cache = Record<string, { gflops: number; size: number; gemm?: string }>;

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
