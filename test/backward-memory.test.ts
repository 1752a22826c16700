import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

/**
 * Freeing each tape node's gradients and saved tensors as soon as the backward pass is past it
 * (src/train/backward-memory.ts) gives the same gradients, bit for bit, as tfjs's own freeing at
 * the end, with a smaller wasm heap, and leaves no tensor behind: for a ViT with dropout and
 * stochastic depth and for a CCT, each way in a fresh process.
 */
const MODELS = {
  vit: { dim: 64, depth: 2, heads: 2, dim_head: 32, mlp_dim: 128, patch_size: 4, dropout: 0.1, drop_path: 0.1 },
  cct: { name: 'cct', dim: 64, depth: 2, heads: 2, mlp_ratio: 1, conv_layers: 2, conv_channels: 32 },
};

function run(model: object, mode: 'early' | 'tfjs'): { grads: number[][]; heap: number; leaked: number } {
  const child = spawnSync(process.execPath, ['--import', 'tsx', 'test/helpers/backward-child.ts', JSON.stringify(model), mode], { encoding: 'utf8', maxBuffer: 1 << 28 });
  assert.equal(child.status, 0, child.stderr);
  return JSON.parse(child.stdout.trim().split('\n').at(-1)!);
}

for (const [family, model] of Object.entries(MODELS)) {
  test(`${family}: freeing backward memory early gives tfjs's gradients bit for bit, in a smaller heap, with no leak`, () => {
    const tfjs = run(model, 'tfjs');
    const early = run(model, 'early');
    assert.deepEqual(early.grads, tfjs.grads);
    assert.equal(early.leaked, 0);
    assert.equal(tfjs.leaked, 0);
    assert.ok(early.heap < 0.85 * tfjs.heap, `wasm heap ${early.heap} bytes, with tfjs's own freeing ${tfjs.heap}`);
  });
}
