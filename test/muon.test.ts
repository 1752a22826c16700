import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ConfigSchema } from '../src/config/schema.js';
import { hiddenMatrixRule, paramShapes, type Params } from '../src/model/index.js';
import { muonUpdate, orthogonalize } from '../src/train/muon.js';
import { Optimizer, type OptimizerSettings } from '../src/train/optimizer.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** The quintic Newton–Schulz map on one singular value: what the iteration does to a diagonal matrix. */
const phi = (x: number) => 3.4445 * x - 4.775 * x ** 3 + 2.0315 * x ** 5;
const iterate = (x: number, steps: number) => Array.from({ length: steps }).reduce<number>((v) => phi(v), x);

function assertClose(actual: number[], expected: number[], tolerance: number, what: string): void {
  assert.equal(actual.length, expected.length, what);
  actual.forEach((v, i) => assert.ok(Math.abs(v - expected[i]) <= tolerance, `${what}[${i}]: ${v} vs ${expected[i]}`));
}

test('orthogonalize: a diagonal matrix keeps its singular vectors; each singular value s goes to φ⁵(s / ‖G‖_F)', () => {
  // ‖G‖_F = 5, so the iteration starts from 0.6 and 0.8.
  const g = tf.tensor2d([[3, 0, 0], [0, 4, 0]]);
  const x = orthogonalize(g, 5);
  const [a, b] = [iterate(0.6, 5), iterate(0.8, 5)];
  assertClose(Array.from(x.dataSync()), [a, 0, 0, 0, b, 0], 1e-5, 'wide');
  // The same matrix standing up is iterated in its wide orientation and transposed back.
  const tall = orthogonalize(tf.transpose(g), 5);
  assertClose(Array.from(tall.dataSync()), [a, 0, 0, b, 0, 0], 1e-5, 'tall');
  assert.ok(a > 0.6 && b > 0.6 && a < 1.3 && b < 1.3, `both pushed towards 1: ${a}, ${b}`);
  tf.dispose([g, x, tall]);
});

test('muonUpdate: the buffer is the gradients\' exponential average; Nesterov mixes in the gradient; more outputs than inputs scale by √(out/in)', () => {
  const g1 = tf.tensor2d([[3, 0, 0], [0, 4, 0]]); // [in 2, out 3]: scale √(3/2)
  const buffer = tf.variable(tf.zeros([2, 3]));
  const settings = { momentum: 0.9, nesterov: true, ns_steps: 5 };
  const u1 = muonUpdate(g1, buffer, settings);
  assertClose(Array.from(buffer.dataSync()), [0.3, 0, 0, 0, 0.4, 0], 1e-7, 'buffer after step 1');
  // (0.1 g + 0.9 · 0.1 g) is a multiple of g, and the iteration is blind to scale.
  const s = Math.sqrt(1.5);
  assertClose(Array.from(u1.dataSync()), [s * iterate(0.6, 5), 0, 0, 0, s * iterate(0.8, 5), 0], 1e-5, 'update 1');

  // Step 2, gradient diag(0, 1): buffer = 0.9·diag(0.3, 0.4) + 0.1·diag(0, 1) = diag(0.27, 0.46);
  // Nesterov direction 0.1·g + 0.9·buffer = diag(0.243, 0.514); without it, the buffer itself.
  const g2 = tf.tensor2d([[0, 0, 0], [0, 1, 0]]);
  const copy = tf.variable(buffer);
  const u2 = muonUpdate(g2, buffer, settings);
  assertClose(Array.from(buffer.dataSync()), [0.27, 0, 0, 0, 0.46, 0], 1e-6, 'buffer after step 2');
  const norm = Math.hypot(0.243, 0.514);
  assertClose(Array.from(u2.dataSync()), [s * iterate(0.243 / norm, 5), 0, 0, 0, s * iterate(0.514 / norm, 5), 0], 1e-5, 'Nesterov update 2');
  const plain = muonUpdate(g2, copy, { ...settings, nesterov: false });
  const plainNorm = Math.hypot(0.27, 0.46);
  assertClose(Array.from(plain.dataSync()), [s * iterate(0.27 / plainNorm, 5), 0, 0, 0, s * iterate(0.46 / plainNorm, 5), 0], 1e-5, 'plain update 2');
  tf.dispose([g1, g2, buffer, copy, u1, u2, plain]);
});

test('Muon trains the hidden matrices (attention, MLP, conv tokenizer, patch embedding) of both families, AdamW the rest', () => {
  const cctConfig = ConfigSchema.parse({ model: { name: 'cct', depth: 1, conv_layers: 2 } }).model;
  const cct = Object.keys(paramShapes(cctConfig));
  assert.deepEqual(cct.filter(hiddenMatrixRule(cctConfig)), [
    'tokenizer.conv.0.weight',
    'tokenizer.conv.1.weight',
    'blocks.0.attn.qkv.weight',
    'blocks.0.attn.out.weight',
    'blocks.0.mlp.fc1.weight',
    'blocks.0.mlp.fc2.weight',
  ]);
  const vitConfig = ConfigSchema.parse({ model: { depth: 1 } }).model;
  const vit = Object.keys(paramShapes(vitConfig));
  assert.deepEqual(vit.filter(hiddenMatrixRule(vitConfig)), ['patch_embed.weight', 'blocks.0.attn.qkv.weight', 'blocks.0.attn.out.weight', 'blocks.0.mlp.fc1.weight', 'blocks.0.mlp.fc2.weight']);
});

// ---------------------------------------------------------------------------------------------
// Against PyTorch: the fixture script runs the reference's Muon and torch.optim.AdamW.

interface Reference {
  shapes: Record<string, number[]>;
  params: Record<string, number[]>;
  grads: Record<string, number[]>[];
  lr_scale: number[];
  after: Record<string, number[]>[];
  settings: { muon: { lr: number; momentum: number; ns_steps: number; weight_decay: number; nesterov: boolean }; adam: { lr: number; betas: [number, number]; eps: number; weight_decay: number } };
}

const SCRIPT = fileURLToPath(new URL('./fixtures/muon_reference.py', import.meta.url));
let reference: Reference | null = null;
let noTorch = '';
before(() => {
  const run = spawnSync('/usr/bin/python3', [SCRIPT], { encoding: 'utf8', timeout: 5 * 60 * 1000 });
  if (run.status === 0) reference = JSON.parse(run.stdout) as Reference;
  else noTorch = `PyTorch could not run the reference (/usr/bin/python3 with torch: apt-get install python3-torch): ${(run.stderr || String(run.error)).trim().split('\n').pop()}`;
});

/** PyTorch's layout → ours: Linear [out, in] → [in, out]; Conv2d [out, in, kh, kw] → [kh, kw, in, out]. */
function toOurs(values: number[], torchShape: number[]): tf.Tensor {
  const t = tf.tensor(values, torchShape);
  const ours = torchShape.length === 4 ? tf.transpose(t, [2, 3, 1, 0]) : torchShape.length === 2 ? tf.transpose(t) : t.clone();
  t.dispose();
  return ours;
}

test('Muon with its auxiliary AdamW matches the PyTorch reference over three steps of a decaying LR (Linear both ways round, a conv)', (t) => {
  if (!reference) return t.skip(noTorch);
  const ref = reference;
  const params: Params = Object.fromEntries(Object.entries(ref.params).map(([n, v]) => [n, tf.variable(toOurs(v, ref.shapes[n]))]));
  const { muon, adam } = ref.settings;
  const settings: OptimizerSettings = { name: 'muon', lr: adam.lr, betas: adam.betas, eps: adam.eps, weight_decay: adam.weight_decay, grad_clip: null, muon };
  const optimizer = new Optimizer(params, settings, (n) => n !== 'bias', (n) => ['tall', 'wide', 'conv'].includes(n));
  ref.grads.forEach((grads, step) => {
    const tensors = Object.fromEntries(Object.entries(grads).map(([n, v]) => [n, toOurs(v, ref.shapes[n])]));
    tf.dispose(optimizer.step(tensors, adam.lr * ref.lr_scale[step]));
    tf.dispose(Object.values(tensors));
    for (const [n, expected] of Object.entries(ref.after[step])) {
      const ours = toOurs(expected, ref.shapes[n]);
      assertClose(Array.from(params[n].dataSync()), Array.from(ours.dataSync()), 2e-5, `step ${step + 1} ${n}`);
      ours.dispose();
    }
  });
  optimizer.dispose();
  tf.dispose(Object.values(params));
});

// ---------------------------------------------------------------------------------------------
// State: what a checkpoint keeps.

const muonSettings: OptimizerSettings = {
  name: 'muon',
  lr: 1e-3,
  betas: [0.9, 0.999],
  eps: 1e-8,
  weight_decay: 0.05,
  grad_clip: 1,
  muon: { lr: 0.02, momentum: 0.95, nesterov: true, ns_steps: 5, weight_decay: 0.01 },
};
const shapes = { w: [4, 3], conv: [3, 3, 2, 4], b: [3] };
const usesMuon = (n: string) => n === 'w' || n === 'conv';

function randomParams(seed: number): Params {
  return Object.fromEntries(Object.entries(shapes).map(([n, s], i) => [n, tf.tidy(() => tf.variable(tf.randomNormal(s, 0, 1, 'float32', seed + i)))]));
}
function stepWithRandomGrads(optimizer: Optimizer, seed: number, lr = 5e-4): void {
  const grads = Object.fromEntries(Object.entries(shapes).map(([n, s], i) => [n, tf.randomNormal(s, 0, 1, 'float32', seed + i)]));
  tf.dispose(optimizer.step(grads, lr));
  tf.dispose(Object.values(grads));
}

test("Muon's state is its momentum buffers (muon/<param>) beside AdamW's moments; a restored optimizer continues identically", () => {
  const a = randomParams(7);
  const original = new Optimizer(a, muonSettings, () => true, usesMuon);
  for (let i = 0; i < 3; i++) stepWithRandomGrads(original, 100 + 10 * i);

  const b = Object.fromEntries(Object.entries(a).map(([n, p]) => [n, tf.tidy(() => tf.variable(p))]));
  const restored = new Optimizer(b, muonSettings, () => true, usesMuon);
  const state = original.getState();
  assert.deepEqual(Object.keys(state.tensors).sort(), ['m/b', 'muon/conv', 'muon/w', 'v/b']);
  assert.deepEqual(state.tensors['muon/conv'].shape, [3, 3, 2, 4]);
  restored.setState(state);
  tf.dispose(Object.values(state.tensors));
  // An AdamW state lacks the buffers: refused, naming what is missing.
  const adamw = new Optimizer(randomParams(7), { ...muonSettings, name: 'adamw', muon: undefined }, () => true, usesMuon);
  const adamState = adamw.getState();
  assert.throws(() => restored.setState(adamState), /m\/w|muon\/w/);
  tf.dispose(Object.values(adamState.tensors));

  for (let i = 0; i < 2; i++) {
    stepWithRandomGrads(original, 200 + 10 * i);
    stepWithRandomGrads(restored, 200 + 10 * i);
  }
  for (const n of Object.keys(shapes)) assert.deepEqual(b[n].arraySync(), a[n].arraySync());
  for (const [opt, ps] of [[original, a], [restored, b], [adamw, null]] as const) {
    opt.dispose();
    if (ps) tf.dispose(Object.values(ps));
  }
});

test('Muon steps keep the tensor count flat; dispose frees the buffers and moments', () => {
  const before = tf.memory().numTensors;
  const ps = randomParams(1);
  const optimizer = new Optimizer(ps, muonSettings, () => true, usesMuon);
  const afterCreate = tf.memory().numTensors;
  assert.equal(afterCreate, before + 3 + 2 + 2, 'two buffers, two moments for b');
  for (let i = 0; i < 4; i++) {
    stepWithRandomGrads(optimizer, 10 * i);
    assert.equal(tf.memory().numTensors, afterCreate);
  }
  optimizer.dispose();
  assert.equal(tf.memory().numTensors, before + 3);
  tf.dispose(Object.values(ps));
});

test("the schedule's LR scales Muon's: half the LR moves a Muon weight half as far", () => {
  const moved = (lr: number) => {
    const ps = randomParams(3);
    const start = ps.w.arraySync() as number[][];
    const optimizer = new Optimizer(ps, { ...muonSettings, weight_decay: 0, muon: { ...muonSettings.muon!, weight_decay: 0 }, grad_clip: null }, () => true, usesMuon);
    stepWithRandomGrads(optimizer, 5, lr);
    const end = ps.w.arraySync() as number[][];
    optimizer.dispose();
    tf.dispose(Object.values(ps));
    return end.flat().map((v, i) => v - start.flat()[i]);
  };
  const full = moved(1e-3);
  const half = moved(5e-4);
  assertClose(half, full.map((d) => d / 2), 1e-6, 'half-LR step');
  assert.ok(Math.max(...full.map(Math.abs)) > 1e-3, 'the step is of the order of muon.lr');
});
