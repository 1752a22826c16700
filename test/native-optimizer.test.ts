import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import type { OptimizerSettings } from '../src/train/optimizer.js';
import { Optimizer } from '../src/train/optimizer.js';
import { nativeOrSkip } from './helpers/native.js';

/**
 * The fused native optimizer step (OPTIMIZER_STEP: global norm, clipping and every AdamW and Muon
 * update in one call) against the same steps in tfjs ops on the cpu backend: parameters,
 * moments or Muon buffers, and the reported norm, for decoupled and L2 decay, with and without
 * clipping, Muon on tall, wide and 4-D (conv) weights beside AdamW, on odd shapes and one larger
 * than a chunk (16,384 values).
 */
const SHAPES: Record<string, number[]> = {
  'w.weight': [129, 257],
  'w.bias': [7],
  'norm.weight': [3, 5, 3],
  big: [40_000],
  'tall.weight': [300, 20],
  'conv.weight': [3, 3, 5, 16],
};
const muonNames = new Set(['w.weight', 'tall.weight', 'conv.weight']);
const decayed = (name: string) => name.endsWith('weight') || name === 'big';

/**
 * Magnitudes in [0.5, 1.5], signs shared by every tensor: a gradient and the L2 term it gets
 * (weight decay × parameter) never cancel, so float32's rounding stays relative and comparable
 * (where they cancel, Adam divides by a tiny √v and any two summation orders differ visibly).
 */
function values(shape: number[], seed: number): Float32Array {
  return Float32Array.from({ length: tf.util.sizeFromShape(shape) }, (_, i) => (i % 3 === 0 ? -1 : 1) * (1 + 0.5 * Math.sin(seed * 7.1 + i * 0.37)));
}

/** Three steps of `settings` on `backend`: the final parameters and moments, and each step's norm. */
async function run(backend: 'cpu' | 'wasm', settings: OptimizerSettings) {
  await useBackend(backend);
  const params = Object.fromEntries(Object.entries(SHAPES).map(([name, shape], i) => [name, tf.variable(tf.tensor(values(shape, i), shape))]));
  const optimizer = new Optimizer(params, settings, decayed, (name) => muonNames.has(name));
  const norms: number[] = [];
  for (let step = 0; step < 3; step++) {
    const grads = Object.fromEntries(Object.entries(SHAPES).map(([name, shape], i) => [name, tf.tensor(values(shape, 10 * step + i + 5), shape)]));
    const norm = optimizer.step(grads, 1e-2 * (step + 1));
    norms.push((await norm.data())[0]);
    tf.dispose([norm, ...Object.values(grads)]);
  }
  const state = optimizer.getState();
  const result = {
    norms,
    params: Object.fromEntries(Object.entries(params).map(([n, p]) => [n, p.dataSync().slice()])),
    moments: Object.fromEntries(Object.entries(state.tensors).map(([n, m]) => [n, m.dataSync().slice()])),
  };
  tf.dispose([...Object.values(params), ...Object.values(state.tensors)]);
  optimizer.dispose();
  return result;
}

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tolerance = 1e-5): void {
  assert.equal(actual.length, expected.length, what);
  for (let i = 0; i < expected.length; i++) assert.ok(Math.abs(actual[i] - expected[i]) <= tolerance * (1 + Math.abs(expected[i])), `${what}[${i}]: ${actual[i]} vs ${expected[i]}`);
}

const CASES: [string, OptimizerSettings][] = [
  ['adamw, clipped', { name: 'adamw', betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.05, grad_clip: 1 }],
  ['adamw, unclipped', { name: 'adamw', betas: [0.9, 0.95], eps: 1e-6, weight_decay: 0.1, grad_clip: null }],
  ['adam with L2 decay, clipped', { name: 'adam', betas: [0.8, 0.99], eps: 1e-8, weight_decay: 0.01, grad_clip: 5 }],
  [
    'muon beside adamw, clipped, with decay',
    { name: 'muon', lr: 2e-3, betas: [0.9, 0.999], eps: 1e-8, weight_decay: 0.05, grad_clip: 1, muon: { lr: 0.02, momentum: 0.95, nesterov: true, ns_steps: 5, weight_decay: 0.1 } },
  ],
  [
    'muon without nesterov or clipping',
    { name: 'muon', lr: 1e-3, betas: [0.9, 0.95], eps: 1e-8, weight_decay: 0, grad_clip: null, muon: { lr: 0.05, momentum: 0.9, nesterov: false, ns_steps: 3, weight_decay: 0 } },
  ],
];

for (const [what, settings] of CASES) {
  test(`native fused optimizer step equals tfjs ops: ${what}`, async (t) => {
    if (!nativeOrSkip(t)) return;
    const expected = await run('cpu', settings);
    const actual = await run('wasm', settings);
    close(actual.norms, expected.norms, 'norm');
    for (const key of Object.keys(expected.moments)) close(actual.moments[key], expected.moments[key], key);
    // Newton–Schulz's products sum in another order than tfjs's: a few ulps more on Muon's weights.
    for (const name of Object.keys(SHAPES)) close(actual.params[name], expected.params[name], name, muonNames.has(name) ? 1e-4 : 1e-5);
  });
}

test('the fused optimizer step leaves no tensors behind', async (t) => {
  if (!nativeOrSkip(t)) return;
  await useBackend('wasm');
  const params = { w: tf.variable(tf.ones([300, 70])) };
  const optimizer = new Optimizer(params, CASES[0][1], () => true);
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    const g = { w: tf.fill([300, 70], 0.5) };
    tf.dispose([optimizer.step(g, 0.1), g.w]);
  }
  assert.equal(tf.memory().numTensors, before);
  optimizer.dispose();
  params.w.dispose();
});
