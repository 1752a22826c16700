import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { type GemmCase, reference } from './helpers/gemm-cases.js';
import { NATIVE_REQUIRED, nativeOrSkip } from './helpers/native.js';

/**
 * vit's own GEMM (native/src/gemm.cc) against a float64 product: every micro-kernel this CPU
 * runs (AVX-512, AVX2, portable), transposes, edge tiles, several k blocks, a bias, an empty k,
 * sizes above the multithreading threshold; bit-identical results whatever the number of
 * threads; and the system-BLAS path chosen with VIT_BLAS.
 */
const base = { batch: 1, transposeA: false, transposeB: false, broadcastA: false, bias: false };
const CASES: GemmCase[] = [
  { ...base, m: 7, n: 13, k: 5, seed: 1 },
  { ...base, m: 7, n: 13, k: 5, transposeA: true, seed: 2 },
  { ...base, m: 7, n: 13, k: 5, transposeB: true, seed: 3 },
  { ...base, m: 7, n: 13, k: 5, transposeA: true, transposeB: true, seed: 4 },
  { ...base, m: 1, n: 1, k: 1, seed: 5 },
  { ...base, m: 3, n: 70, k: 9, seed: 6 }, // fewer rows than a tile, a column edge
  { ...base, m: 300, n: 257, k: 129, seed: 7 }, // many tiles: split over threads
  { ...base, m: 37, n: 100, k: 700, transposeA: true, seed: 8 }, // three k blocks, accumulated
  { ...base, m: 130, n: 64, k: 2049, transposeB: true, seed: 9 }, // long k: cut into slices, partials added in order
  { ...base, m: 27, n: 64, k: 9000, transposeA: true, seed: 15 }, // a first conv's weight gradient: 9 slices
  { ...base, m: 5, n: 3, k: 3000, bias: true, seed: 16 }, // slices and a bias
  { ...base, m: 64, n: 64, k: 64, batch: 5, transposeB: true, seed: 10 }, // small products, one per thread
  { ...base, m: 65, n: 65, k: 32, batch: 3, transposeB: true, seed: 17 }, // a ViT's q·kᵀ: 64 columns and 1
  { ...base, m: 65, n: 48, k: 65, batch: 2, seed: 18 }, // 3 whole vectors of 16
  { ...base, m: 11, n: 33, k: 20, transposeA: true, seed: 19 }, // 2 vectors and 1 column
  { ...base, m: 13, n: 6, k: 8, batch: 4, broadcastA: true, seed: 11 }, // one matrix against many
  { ...base, m: 301, n: 67, k: 259, bias: true, seed: 12 }, // affine: bias epilogue
  { ...base, m: 5, n: 3, k: 0, bias: true, seed: 13 }, // empty k: every row is the bias
  { ...base, m: 0, n: 4, k: 3, seed: 14 }, // no rows
];

interface Run {
  info: { gemm: string; gemmFallback: string; threads: number };
  outputs: number[][];
}

async function runChild(env: Record<string, string>): Promise<Run> {
  const dir = await mkdtemp(join(tmpdir(), 'vit-gemm-'));
  try {
    const out = join(dir, 'out.json');
    const child = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/gemm-child.ts', JSON.stringify(CASES), out], {
      encoding: 'utf8',
      env: { ...process.env, ...env },
    });
    assert.equal(child.status, 0, child.stderr);
    return JSON.parse(await readFile(out, 'utf8')) as Run;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function assertProducts(run: Run, what: string): void {
  CASES.forEach((c, i) => {
    const { values, scale } = reference(c);
    const actual = run.outputs[i];
    assert.equal(actual.length, values.length, `${what}, case ${i}: size`);
    values.forEach((e, j) => {
      // float32 rounding of a sum of k terms: a few ulps of the sum of their magnitudes.
      assert.ok(Math.abs(actual[j] - e) <= 1e-6 * (scale[j] + 1), `${what}, case ${i} (${c.m}x${c.n}x${c.k}) [${j}]: ${actual[j]} vs ${e}`);
    });
  });
}

const KERNELS = ['avx512', 'avx2', 'generic'];

for (const kernel of KERNELS) {
  test(`GEMM with the ${kernel} micro-kernel equals a float64 product (transposes, edges, k blocks, bias, empty)`, async (t) => {
    if (!nativeOrSkip(t)) return;
    const run = await runChild({ VIT_GEMM_KERNEL: kernel, VIT_BLAS: 'builtin' });
    if (!run.info.gemm.startsWith(`vit ${kernel} `)) return t.skip(`this CPU has no ${kernel} (runs ${run.info.gemm})`);
    assertProducts(run, kernel);
  });
}

test('the GEMM gives the same bits on 1, 2 and 3 threads (work is cut by size, never by thread count)', async (t: TestContext) => {
  if (!nativeOrSkip(t)) return;
  const [one, two, three] = await Promise.all(['1', '2', '3'].map((n) => runChild({ VIT_NUM_THREADS: n, VIT_BLAS: 'builtin' })));
  assert.deepEqual([one.info.threads, two.info.threads, three.info.threads], [1, 2, 3]);
  assert.deepEqual(two.outputs, one.outputs);
  assert.deepEqual(three.outputs, one.outputs);
});

test('VIT_BLAS naming a library that is not there: vit says why and its own GEMM computes the products', async (t) => {
  if (!nativeOrSkip(t)) return;
  const run = await runChild({ VIT_BLAS: '/nonexistent/libmyblas.so' });
  assert.match(run.info.gemmFallback, /^VIT_BLAS=\/nonexistent\/libmyblas\.so: .*libmyblas\.so/);
  assert.match(run.info.gemm, /^vit /);
  assertProducts(run, 'fallback');
});

test('VIT_BLAS=openblas computes the products with the system OpenBLAS, where it is installed', async (t) => {
  if (!nativeOrSkip(t)) return;
  const run = await runChild({ VIT_BLAS: 'openblas' });
  if (run.info.gemmFallback) {
    // The test set-up (npm run setup -- --tests) installs OpenBLAS, so CI must find it.
    if (NATIVE_REQUIRED && process.platform === 'linux') assert.fail(run.info.gemmFallback);
    return t.skip(run.info.gemmFallback);
  }
  assert.match(run.info.gemm, /^OpenBLAS \(.*\) .*libopenblas/);
  assertProducts(run, 'OpenBLAS');
});
