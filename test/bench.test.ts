import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigSchema } from '../src/config/schema.js';
import { vit } from './helpers/cli.js';

test('vit bench --json times a small model and reports the agreed keys', () => {
  const run = vit(['bench', '--config', 'configs/smoke.json', '--backend', 'wasm', '--batch', '4', '--steps', '2', '--warmup', '1', '--json']);
  assert.equal(run.code, 0, run.stderr);
  const result = JSON.parse(run.stdout.trim().split('\n').at(-1)!);
  assert.equal(result.backend, 'wasm');
  assert.equal(result.batch, 4);
  for (const key of ['train_images_per_second', 'infer_images_per_second', 'train_ms_per_step', 'train_gflops', 'peak_rss_mb']) {
    assert.ok(Number.isFinite(result[key]) && result[key] > 0, `${key} = ${result[key]}`);
  }
  assert.ok(Math.abs(result.train_images_per_second * result.train_ms_per_step - 4000) < 1e-6, 'img/s and ms/step agree');
  assert.equal(result.tensors_after_steps, result.tensors_after_warmup, 'no tensor leaks across steps');
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
