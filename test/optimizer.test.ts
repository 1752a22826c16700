import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { UserError } from '../src/errors.js';
import type { Params } from '../src/layers/params.js';
import { Optimizer, type OptimizerSettings } from '../src/train/optimizer.js';

before(async () => {
  await tf.setBackend('cpu');
});

const settings = (overrides: Partial<OptimizerSettings> = {}): OptimizerSettings => ({
  name: 'adamw',
  betas: [0.9, 0.999],
  eps: 1e-8,
  weight_decay: 0.1,
  grad_clip: null,
  ...overrides,
});

const onlyW = (name: string) => name === 'w';

function params(values: Record<string, number[]>): Params {
  return Object.fromEntries(Object.entries(values).map(([name, xs]) => [name, tf.tidy(() => tf.variable(tf.tensor1d(xs)))]));
}

/** One optimizer step with gradients given as arrays; returns the reported gradient norm. */
function stepWith(optimizer: Optimizer, grads: Record<string, number[]>, lr: number): number {
  const tensors = Object.fromEntries(Object.entries(grads).map(([name, xs]) => [name, tf.tensor1d(xs)]));
  const norm = optimizer.step(tensors, lr);
  const value = norm.dataSync()[0];
  tf.dispose([norm, ...Object.values(tensors)]);
  return value;
}

function assertClose(actual: tf.Tensor, expected: number[], tolerance = 1e-6): void {
  const xs = Array.from(actual.dataSync());
  assert.equal(xs.length, expected.length);
  xs.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) <= tolerance, `[${xs}] vs [${expected}]`));
}

function disposeAll(ps: Params, optimizer: Optimizer): void {
  optimizer.dispose();
  tf.dispose(Object.values(ps));
}

// Two steps worked out by hand for p = [1, -2], gradients [0.5, -1] then [0.1, 0.2], lr 0.1 then
// 0.05, betas (0.9, 0.999), wd 0.1. eps = 1e-8 is below float32 resolution here and is left out.
//
// Step 1: m = 0.1·g, v = 0.001·g², so m̂ = g, v̂ = g² and the Adam step is lr·sign(g) = ±0.1.
// Step 2: m = 0.9·m + 0.1·g, v = 0.999·v + 0.001·g², m̂ = m / 0.19, v̂ = v / 0.001999.

test('adamw: decoupled decay for a decayed parameter, none for the other', () => {
  const ps = params({ w: [1, -2], b: [1, -2] });
  const optimizer = new Optimizer(ps, settings(), onlyW);

  stepWith(optimizer, { w: [0.5, -1], b: [0.5, -1] }, 0.1);
  // w: p·(1 − 0.1·0.1) − 0.1·sign(g) = [0.99 − 0.1, −1.98 + 0.1]
  assertClose(ps.w, [0.89, -1.88]);
  // b: p − 0.1·sign(g)
  assertClose(ps.b, [0.9, -1.9]);

  stepWith(optimizer, { w: [0.1, 0.2], b: [0.1, 0.2] }, 0.05);
  // m = [0.055, −0.07], v = [0.00025975, 0.001039]
  // m̂ = [0.2894737, −0.3684211], √v̂ = [0.3604712, 0.7209441], m̂/√v̂ = [0.8030398, −0.5110251]
  // w: [0.89·0.995 − 0.05·0.8030398, −1.88·0.995 + 0.05·0.5110251]
  assertClose(ps.w, [0.845398, -1.8450487]);
  // b: [0.9 − 0.05·0.8030398, −1.9 + 0.05·0.5110251]
  assertClose(ps.b, [0.859848, -1.8744487]);
  disposeAll(ps, optimizer);
});

test('adam: weight decay is L2 added to the gradient, for decayed parameters only', () => {
  const ps = params({ w: [1, -2], b: [1, -2] });
  const optimizer = new Optimizer(ps, settings({ name: 'adam' }), onlyW);

  stepWith(optimizer, { w: [0.5, -1], b: [0.5, -1] }, 0.1);
  // w: g + 0.1·p = [0.6, −1.2]; the first step is still lr·sign(g)
  assertClose(ps.w, [0.9, -1.9]);
  assertClose(ps.b, [0.9, -1.9]);

  stepWith(optimizer, { w: [0.1, 0.2], b: [0.1, 0.2] }, 0.05);
  // w: g + 0.1·p = [0.19, 0.01]; m = [0.073, −0.107], v = [0.00039574, 0.00143866]
  // m̂/√v̂ = [0.3842105 / 0.4449387, −0.5631579 / 0.8483452] = [0.8635134, −0.6638305]
  assertClose(ps.w, [0.8568243, -1.8668085]);
  // b: no decay, identical to adamw's undecayed parameter
  assertClose(ps.b, [0.859848, -1.8744487]);
  disposeAll(ps, optimizer);
});

test('without weight decay the update matches tf.train.adam', () => {
  const init = tf.randomNormal([3, 4], 0, 1, 'float32', 1);
  const ours = { w: tf.variable(init) };
  const reference = tf.variable(init);
  const optimizer = new Optimizer(ours, settings({ weight_decay: 0 }), onlyW);
  const adam = tf.train.adam(0.01, 0.9, 0.999, 1e-8);
  for (let i = 0; i < 5; i++) {
    const g = tf.randomNormal([3, 4], 0, 1, 'float32', 10 + i);
    tf.dispose(optimizer.step({ w: g }, 0.01));
    adam.applyGradients([{ name: reference.name, tensor: g }]);
    g.dispose();
  }
  assertClose(ours.w, Array.from(reference.dataSync()), 1e-6);
  tf.dispose([init, reference]);
  adam.dispose();
  disposeAll(ours, optimizer);
});

test('clipping scales by max_norm / (norm + 1e-6) above the threshold only; the pre-clip norm is returned', () => {
  // Gradients [3] and [4]: global norm 5. After one step m = 0.1·(clipped gradient).
  const cases: [number | null, number][] = [
    [1, 1 / (5 + 1e-6)],
    [10, 1],
    [null, 1],
  ];
  for (const [maxNorm, scale] of cases) {
    const ps = params({ a: [0], b: [0] });
    const optimizer = new Optimizer(ps, settings({ grad_clip: maxNorm, weight_decay: 0 }), onlyW);
    const norm = stepWith(optimizer, { a: [3], b: [4] }, 0.1);
    assert.ok(Math.abs(norm - 5) < 1e-6, `norm ${norm}`);
    const state = optimizer.getState();
    assertClose(state.tensors['m/a'], [0.3 * scale]);
    assertClose(state.tensors['m/b'], [0.4 * scale]);
    tf.dispose(Object.values(state.tensors));
    disposeAll(ps, optimizer);
  }
});

test('an optimizer restored from another one\'s state continues identically', () => {
  const shapes = { w: [4, 3], b: [3] };
  const randomGrads = (seed: number) =>
    Object.fromEntries(Object.entries(shapes).map(([name, shape], i) => [name, tf.randomNormal(shape, 0, 1, 'float32', seed + i)]));
  const stepBoth = (pairs: [Optimizer, ...Optimizer[]], seed: number) => {
    const grads = randomGrads(seed);
    for (const optimizer of pairs) tf.dispose(optimizer.step(grads, 0.01));
    tf.dispose(Object.values(grads));
  };

  const a = Object.fromEntries(Object.entries(shapes).map(([name, shape]) => [name, tf.tidy(() => tf.variable(tf.randomNormal(shape, 0, 1, 'float32', 7)))]));
  const original = new Optimizer(a, settings({ grad_clip: 1 }), onlyW);
  for (let i = 0; i < 3; i++) stepBoth([original], 100 + 10 * i);

  const b = Object.fromEntries(Object.entries(a).map(([name, p]) => [name, tf.tidy(() => tf.variable(p))]));
  const restored = new Optimizer(b, settings({ grad_clip: 1 }), onlyW);
  const state = original.getState();
  assert.equal(state.step, 3);
  assert.deepEqual(Object.keys(state.tensors).sort(), ['m/b', 'm/w', 'v/b', 'v/w']);
  restored.setState(state);
  tf.dispose(Object.values(state.tensors));

  for (let i = 0; i < 2; i++) stepBoth([original, restored], 200 + 10 * i);
  for (const name of Object.keys(shapes)) assert.deepEqual(b[name].arraySync(), a[name].arraySync());
  disposeAll(a, original);
  disposeAll(b, restored);
});

test('setState rejects a state that does not fit the model, changing nothing', () => {
  const ps = params({ w: [1, 2] });
  const optimizer = new Optimizer(ps, settings(), onlyW);
  const wrongShape = { step: 1, tensors: { 'm/w': tf.ones([3]), 'v/w': tf.ones([2]) } };
  const extra = { step: 1, tensors: { 'm/w': tf.ones([2]), 'v/w': tf.ones([2]), 'm/x': tf.ones([2]) } };
  const missing = { step: 1, tensors: { 'm/w': tf.ones([2]) } };
  assert.throws(() => optimizer.setState(wrongShape), (e) => e instanceof UserError && /m\/w/.test(e.message));
  assert.throws(() => optimizer.setState(extra), (e) => e instanceof UserError && /m\/x/.test(e.message));
  assert.throws(() => optimizer.setState(missing), (e) => e instanceof UserError && /v\/w/.test(e.message));
  const state = optimizer.getState();
  assert.equal(state.step, 0);
  assertClose(state.tensors['m/w'], [0, 0]);
  tf.dispose([...Object.values(state.tensors), ...[wrongShape, extra, missing].flatMap((s) => Object.values(s.tensors))]);
  disposeAll(ps, optimizer);
});

test('steps keep the tensor count flat; dispose frees the moments', () => {
  const before = tf.memory().numTensors;
  const ps = params({ w: [1, 2, 3], b: [0.5] });
  const optimizer = new Optimizer(ps, settings({ grad_clip: 0.5 }), onlyW);
  const afterCreate = tf.memory().numTensors;
  assert.equal(afterCreate, before + 2 + 4);
  for (let i = 0; i < 5; i++) {
    stepWith(optimizer, { w: [0.1 * i, -0.2, 0.3], b: [1] }, 0.01);
    assert.equal(tf.memory().numTensors, afterCreate);
  }
  optimizer.dispose();
  assert.equal(tf.memory().numTensors, before + 2);
  tf.dispose(Object.values(ps));
});
