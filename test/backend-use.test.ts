import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import { UserError } from '../src/errors.js';

const isInstalled = (pkg: string) => {
  try {
    createRequire(import.meta.url).resolve(pkg);
    return true;
  } catch {
    return false;
  }
};

test('useBackend switches tfjs between wasm and cpu, and both compute', async () => {
  for (const name of ['wasm', 'cpu', 'wasm'] as const) {
    const backend = await useBackend(name);
    assert.equal(backend.name, name);
    assert.equal(tf.getBackend(), name);
    const y = tf.tidy(() => tf.matMul(tf.tensor2d([[1, 2]]), tf.tensor2d([[3], [4]])));
    assert.deepEqual(await y.data(), new Float32Array([11]));
    y.dispose();
    backend.dispose();
  }
});

test('wasm reports its SIMD support and its 4 GiB heap limit; cpu has no memory limit', async () => {
  const wasm = await useBackend('wasm');
  assert.match(wasm.details.simd, /^(yes|no)$/);
  assert.equal(wasm.capabilities.memoryLimitBytes, 4 * 1024 ** 3);
  assert.equal((await useBackend('cpu')).capabilities.memoryLimitBytes, null);
});

test(
  'asking for tfjs-node when it is not installed is a UserError that says so and how to install it',
  { skip: isInstalled('@tensorflow/tfjs-node') && '@tensorflow/tfjs-node is installed here' },
  async () => {
    const before = tf.getBackend();
    await assert.rejects(useBackend('tensorflow'), (err: unknown) => {
      assert.ok(err instanceof UserError);
      assert.match(err.message, /^backend "tensorflow" is not available: @tensorflow\/tfjs-node is not installed\. /);
      assert.match(err.message, /npm install @tensorflow\/tfjs-node/);
      return true;
    });
    assert.equal(tf.getBackend(), before, 'a refused backend leaves the current one in place');
  },
);
