import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { type Checkpoint, checkShapes, loadCheckpoint, saveCheckpoint } from '../src/checkpoint/checkpoint.js';
import { ConfigSchema } from '../src/config/schema.js';
import { UserError } from '../src/errors.js';
import { replaceDirAtomic } from '../src/util/atomic.js';

function checkpoint(epoch: number, value: number): Checkpoint {
  return {
    config: ConfigSchema.parse({ run_name: 'x' }),
    weights: { 'a.weight': { shape: [2, 2], data: Float32Array.of(value, 2, 3, 4) } },
    optimizer: { 'm/a.weight': { shape: [2, 2], data: new Float32Array(4) } },
    state: {
      epoch,
      step_in_epoch: 0,
      global_step: 10 * epoch,
      optimizer_step: 10 * epoch,
      elapsed_seconds: 1.5,
      partial_epoch: null,
      schedule: { name: 'cosine' },
      early_stopping: { best: 0.5, bestEpoch: 1 },
      best: { monitor: 'val_acc', value: 0.5, epoch: 1 },
      planned_epochs: null,
    },
    meta: { tool: 'vit', version: '0.0.0', backend: 'cpu', date: '2026-01-01T00:00:00.000Z', metrics: { val_acc: 0.5, val_loss: 1 } },
  };
}

test('a checkpoint round-trips: config, weights, optimizer moments, state and metadata', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'vit-ckpt-')), 'last');
  const saved = checkpoint(3, 1);
  await saveCheckpoint(dir, saved);
  assert.deepEqual(await loadCheckpoint(dir), saved);
  assert.deepEqual((await readdir(dir)).sort(), ['config.json', 'optimizer.safetensors', 'state.json', 'weights.safetensors']);
});

test('a failure while writing leaves the previous checkpoint whole, and no temp directory', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vit-ckpt-'));
  const dir = join(root, 'last');
  await saveCheckpoint(dir, checkpoint(1, 1));
  const before = await readFile(join(dir, 'weights.safetensors'));
  await assert.rejects(
    replaceDirAtomic(dir, async () => {
      throw new Error('disk full');
    }),
    /disk full/,
  );
  assert.deepEqual(await readFile(join(dir, 'weights.safetensors')), before);
  assert.deepEqual(await readdir(root), ['last']);
  // And a successful save replaces it completely.
  await saveCheckpoint(dir, checkpoint(2, 7));
  assert.equal((await loadCheckpoint(dir)).weights['a.weight'].data[0], 7);
  assert.deepEqual(await readdir(root), ['last']);
});

test('checkShapes names missing, unexpected and mis-shaped tensors', () => {
  const arrays = { a: { shape: [2], data: new Float32Array(2) }, b: { shape: [3], data: new Float32Array(3) } };
  const throwsWith = (expected: Record<string, number[]>, pattern: RegExp) =>
    assert.throws(() => checkShapes(arrays, expected, 'ckpt'), (e) => e instanceof UserError && pattern.test(e.message));
  checkShapes(arrays, { a: [2], b: [3] }, 'ckpt');
  throwsWith({ a: [2], b: [3], c: [1] }, /missing c/);
  throwsWith({ a: [2] }, /unexpected b/);
  throwsWith({ a: [2], b: [4] }, /b has shape \[3\] but the model config expects \[4\]/);
});
