import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { nativeOrSkip } from './helpers/native.js';
import { useBackend } from '../src/backend/index.js';

/**
 * The native Add (same-shape float32 adds of ≥ 65,536 values, split over cores) against tfjs's
 * cpu kernel, and the cases it leaves to wasm's own Add: broadcasts, int32, small tensors.
 */
before(async () => {
  await useBackend('wasm');
});

const CASES: [string, number[], number[], 'float32' | 'int32'][] = [
  ['same shape, split over cores (odd size)', [3, 65, 337], [3, 65, 337], 'float32'],
  ['same shape at the threshold', [65536], [65536], 'float32'],
  ['broadcast (wasm kernel)', [128, 600], [600], 'float32'],
  ['int32 (wasm kernel)', [300, 300], [300, 300], 'int32'],
  ['small (wasm kernel)', [7, 5], [7, 5], 'float32'],
  ['empty', [0, 4], [0, 4], 'float32'],
];

async function sum(backend: 'cpu' | 'wasm', aShape: number[], bShape: number[], dtype: 'float32' | 'int32'): Promise<Float32Array | Int32Array> {
  await useBackend(backend);
  const values = (shape: number[], seed: number) => Array.from({ length: tf.util.sizeFromShape(shape) }, (_, i) => Math.round(1000 * Math.sin(seed + i)) / 8);
  return tf.tidy(() => tf.add(tf.tensor(values(aShape, 1), aShape, dtype), tf.tensor(values(bShape, 2), bShape, dtype)).dataSync() as Float32Array | Int32Array);
}

for (const [name, aShape, bShape, dtype] of CASES) {
  test(`add on wasm with native kernels equals tfjs's cpu kernel: ${name}`, async (t) => {
    if (!nativeOrSkip(t)) return;
    const expected = await sum('cpu', aShape, bShape, dtype);
    const actual = await sum('wasm', aShape, bShape, dtype);
    assert.equal(actual.length, expected.length);
    assert.deepEqual(Array.from(actual), Array.from(expected));
  });
}
