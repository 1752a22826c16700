import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { computeSetup, exactnessBreak } from '../src/backend/index.js';
import { vit } from './helpers/cli.js';
import { tinyTrainedRun } from './helpers/tiny-run.js';

/**
 * Checkpoints record the compute set-up that bit-exactness depends on; a resume on another one
 * says so in one line (and goes on), a resume on the same one says nothing.
 */
test('a checkpoint records its compute set-up, and a resume on another one says in one line that it will not be bit for bit', async () => {
  const { dataDir, runDir } = await tinyTrainedRun('vit-resume-setup-');
  const statePath = join(runDir, 'last', 'state.json');
  const state = JSON.parse(await readFile(statePath, 'utf8'));
  assert.deepEqual(state.meta.compute, computeSetup('cpu'));

  const same = vit(['train', '--resume', join(runDir, 'last'), '--data-dir', dataDir, '--set', 'train.epochs=3']);
  assert.equal(same.code, 0, same.stderr);
  assert.doesNotMatch(same.stderr, /another set-up/);

  const moved = JSON.parse(await readFile(statePath, 'utf8'));
  moved.meta.compute = { ...moved.meta.compute, gemm: 'vit avx2 6x16' };
  await writeFile(statePath, JSON.stringify(moved));
  const other = vit(['train', '--resume', join(runDir, 'last'), '--data-dir', dataDir, '--set', 'train.epochs=4']);
  assert.equal(other.code, 0, other.stderr);
  const notes = other.stderr.split('\n').filter((line) => line.includes('another set-up'));
  assert.deepEqual(notes, [
    `note: ${join(runDir, 'last')} was computed with another set-up (products by vit avx2 6x16 → cpu kernels): the run continues, but not bit for bit as it would have`,
  ]);
});

test('vit’s own GEMM is exact on any thread count; a system BLAS only on the same one', () => {
  const base = { backend: 'wasm', gemm: 'vit avx512 6x64', threads: 2, cpu: 'AMD EPYC', cores: 2 };
  assert.equal(exactnessBreak(base, { ...base, threads: 8, cores: 8 }), null);
  assert.equal(exactnessBreak(base, { ...base, gemm: 'vit avx2 6x16' }), 'products by vit avx512 6x64 → vit avx2 6x16');
  const blas = { ...base, gemm: 'OpenBLAS (0.3.21, pthread, 2 threads, Haswell kernels) libopenblas.so.0' };
  assert.equal(exactnessBreak(blas, { ...blas, threads: 4 }), '2 → 4 threads');
  assert.equal(exactnessBreak(base, { ...base, backend: 'cpu', gemm: 'cpu kernels' }), 'backend wasm → cpu, products by vit avx512 6x64 → cpu kernels');
});
