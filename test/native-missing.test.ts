import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { vit } from './helpers/cli.js';
import { nativeOrSkip } from './helpers/native.js';

/**
 * When the native kernels cannot run, `vit train` says so in one line (what is missing, what it
 * costs, what fixes it) and still trains correctly on plain wasm; a system BLAS asked for that is
 * not there is one line too, and vit's own GEMM computes instead.
 */
let root: string;
let dataDir: string;
let config: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-native-missing-'));
  dataDir = join(root, 'data');
  await writeSyntheticCifar10(dataDir, { perBatch: 60, seed: 3 });
  config = join(root, 'tiny.json');
  await writeFile(
    config,
    JSON.stringify({
      checkpoint_dir: join(root, 'checkpoints'),
      backend: 'wasm',
      data: { limit_test: 60 },
      model: { dim: 32, depth: 1, heads: 2, dim_head: 16, mlp_dim: 64, patch_size: 8 },
      train: { epochs: 1, batch_size: 30, eval_batch_size: 60 },
    }),
  );
});

/** `vit train` of the tiny config as run `name`, with `env`; its val loss from metrics.csv. */
async function trainTiny(name: string, env: Record<string, string>) {
  const result = vit(['train', '--config', config, '--data-dir', dataDir, '--set', `run_name=${name}`], { VIT_REQUIRE_NATIVE: '', ...env });
  const csv = result.code === 0 ? await readFile(join(root, 'checkpoints', name, 'metrics.csv'), 'utf8') : '';
  const [header, row] = csv.trim().split('\n');
  const valLoss = row ? Number(row.split(',')[header.split(',').indexOf('val_loss')]) : Number.NaN;
  return { ...result, valLoss };
}

const MISSING = '/nonexistent/vit_native.node';

test('without the addon: one warning line with the cost and the fix, and the same training on plain wasm', async (t) => {
  if (!nativeOrSkip(t)) return;
  const plain = await trainTiny('plain', { VIT_NATIVE_ADDON: MISSING });
  assert.equal(plain.code, 0, plain.stderr);
  const warnings = plain.stderr.split('\n').filter((line) => line.startsWith('warning:'));
  assert.deepEqual(warnings, [
    `warning: the native CPU kernels are off (the native addon is not built (${MISSING} is missing)), so CPU training runs about 25x slower; fix: npm run native`,
  ]);
  assert.match(plain.stdout, /^backend +wasm .*native=no: /m);

  const native = await trainTiny('native', {});
  assert.equal(native.code, 0, native.stderr);
  assert.doesNotMatch(native.stderr, /warning:/);
  assert.ok(Number.isFinite(plain.valLoss));
  // Other kernels, other rounding: equal to float32 noise after one epoch, not bit for bit.
  assert.ok(Math.abs(plain.valLoss - native.valLoss) <= 1e-4 * native.valLoss, `val loss ${plain.valLoss} on plain wasm, ${native.valLoss} native`);
});

test('VIT_REQUIRE_NATIVE makes a missing addon an error, not a slow run', async (t) => {
  if (!nativeOrSkip(t)) return;
  const result = await trainTiny('required', { VIT_NATIVE_ADDON: MISSING, VIT_REQUIRE_NATIVE: '1' });
  assert.equal(result.code, 1);
  assert.equal(result.stderr.trim(), `error: VIT_REQUIRE_NATIVE is set, but the native kernels cannot run: the native addon is not built (${MISSING} is missing)`);
});

test('VIT_BLAS naming a missing library: one warning line, and vit trains with its own GEMM', async (t) => {
  if (!nativeOrSkip(t)) return;
  const result = await trainTiny('blas', { VIT_BLAS: '/nonexistent/libblas.so.3' });
  assert.equal(result.code, 0, result.stderr);
  const warnings = result.stderr.split('\n').filter((line) => line.startsWith('warning:'));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0], /^warning: VIT_BLAS=\/nonexistent\/libblas\.so\.3: .*; vit's own GEMM runs instead$/);
  assert.match(result.stdout, /native=yes gemm=vit /);
});
