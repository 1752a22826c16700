import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { nativeStatus } from '../src/backend/native/addon.js';
import { ConfigSchema } from '../src/config/schema.js';
import { vit } from './helpers/cli.js';
import { NATIVE_REQUIRED, nativeOrSkip } from './helpers/native.js';

/** The SGEMM peak's cache goes here, not into the user's ~/.cache. */
const SCRATCH_CACHE = { XDG_CACHE_HOME: await mkdtemp(join(tmpdir(), 'vit-bench-cache-')) };

test('vit bench --json times a small model and reports the agreed keys', () => {
  const run = vit(['bench', '--config', 'configs/smoke.json', '--backend', 'wasm', '--batch', '4', '--steps', '2', '--warmup', '1', '--json'], SCRATCH_CACHE);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
  assert.equal(result.backend, 'wasm');
  assert.equal(result.batch, 4);
  for (const key of ['train_images_per_second', 'infer_images_per_second', 'infer_latency_ms', 'train_ms_per_step', 'train_gflops', 'peak_rss_mb']) {
    assert.ok(Number.isFinite(result[key]) && result[key] > 0, `${key} = ${result[key]}`);
  }
  assert.ok(Math.abs(result.train_images_per_second * result.train_ms_per_step - 4000) < 1e-6, 'img/s and ms/step agree');
  assert.equal(result.tensors_after_steps, result.tensors_after_warmup, 'no tensor leaks across steps');
});

test('vit bench reports MFU against the SGEMM peak of its set-up, measured once and then read from the cache', async () => {
  const cache = await mkdtemp(join(tmpdir(), 'vit-peak-'));
  const bench = (extra: string[]) => {
    const run = vit(['bench', '--config', 'configs/smoke.json', '--backend', 'wasm', '--batch', '4', '--steps', '1', '--warmup', '1', '--json', ...extra], { XDG_CACHE_HOME: cache });
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
  };
  const first = bench([]);
  assert.equal(first.peak_cached, false);
  assert.ok(first.peak_gflops > 0);
  assert.ok(Math.abs(first.train_mfu - first.train_gflops / first.peak_gflops) < 1e-12);
  assert.ok(Math.abs(first.infer_mfu - first.infer_gflops / first.peak_gflops) < 1e-12);
  const stored = JSON.parse(await readFile(join(cache, 'vit', 'sgemm-peak.json'), 'utf8'));
  const [key] = Object.keys(stored);
  assert.match(key, new RegExp(`^wasm \\| ${first.gemm.replace(/[()]/g, '.')} \\| ${first.threads} threads \\| `));
  const second = bench([]);
  assert.deepEqual([second.peak_cached, second.peak_gflops], [true, first.peak_gflops]);
  assert.equal(bench(['--peak']).peak_cached, false, '--peak measures again');
});

test("the peak is the machine's: the best of vit's GEMM and every system BLAS found, each timed once in its own process", async (t) => {
  if (!nativeOrSkip(t)) return;
  const native = nativeStatus();
  const blases = native.available ? native.addon.systemBlases() : [];
  if (blases.length === 0) {
    // The test set-up (npm run setup -- --tests) installs OpenBLAS, so CI must find one.
    if (NATIVE_REQUIRED && process.platform === 'linux') assert.fail('no system BLAS found');
    return t.skip('no system BLAS found: the peak is vit GEMM alone');
  }
  const cache = await mkdtemp(join(tmpdir(), 'vit-peaks-'));
  const file = join(cache, 'vit', 'sgemm-peak.json');
  const bench = () => {
    const run = vit(['bench', '--config', 'configs/smoke.json', '--backend', 'wasm', '--batch', '4', '--steps', '1', '--warmup', '1', '--json'], { XDG_CACHE_HOME: cache });
    assert.equal(run.code, 0, run.stderr);
    return JSON.parse(run.stdout.trim().split('\n').at(-1)!);
  };
  const first = bench();
  const stored: Record<string, { gflops: number; gemm?: string }> = JSON.parse(await readFile(file, 'utf8'));
  // vit's GEMM (in use) and one entry per family of system BLAS, chosen as VIT_BLAS would choose it.
  const families = [...new Set(blases.map((description) => description.split(' ')[0]))];
  assert.equal(Object.keys(stored).length, 1 + families.length, Object.keys(stored).join('; '));
  for (const family of families) {
    const [key] = Object.keys(stored).filter((k) => k.includes(`| VIT_BLAS=${family.toLowerCase()} |`));
    assert.ok(key, `no peak for ${family}`);
    assert.equal(stored[key].gemm, blases.find((description) => description.startsWith(`${family} `)));
  }
  const best = Object.values(stored).reduce((a, b) => (b.gflops > a.gflops ? b : a));
  assert.equal(first.peak_gflops, best.gflops);
  assert.equal(first.peak_gemm, best.gemm ?? first.gemm);
  // A faster GEMM than the one computing sets the peak (MFU cannot pass 100% through a slow GEMM).
  const [blasKey] = Object.keys(stored).filter((k) => k.includes('| VIT_BLAS='));
  stored[blasKey] = { ...stored[blasKey], gflops: 1e6, gemm: 'a faster GEMM' };
  await writeFile(file, JSON.stringify(stored));
  const second = bench();
  assert.deepEqual([second.peak_gflops, second.peak_gemm, second.peak_cached], [1e6, 'a faster GEMM', true]);
  assert.ok(Math.abs(second.train_mfu - second.train_gflops / 1e6) < 1e-15);
});

test('vit bench --print-config prints the resolved config, defaults included (pytorch_reference.py reads it)', () => {
  const run = vit(['bench', '--print-config']);
  assert.equal(run.code, 0, run.stderr);
  assert.deepEqual(JSON.parse(run.stdout), ConfigSchema.parse({}));
});

test('vit bench rejects a non-positive step count in one line', () => {
  const run = vit(['bench', '--steps', '0']);
  assert.notEqual(run.code, 0);
  assert.match(run.stderr, /--steps.*positive integer/);
});
