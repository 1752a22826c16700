import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { fromPytorchStateDict } from '../src/checkpoint/pytorch.js';
import type { SafeTensor } from '../src/checkpoint/safetensors.js';
import { loadConfig } from '../src/config/load.js';
import { ConfigSchema } from '../src/config/schema.js';
import { vitSmall } from '../src/families/vit_small/index.js';
import type { VitSmallConfig } from '../src/families/vit_small/config.js';
import { MASK_VALUE, maskDiagonal } from '../src/families/vit_small/lsa.js';
import { vitSmallForward } from '../src/families/vit_small/model.js';
import { shiftedViews } from '../src/families/vit_small/spt.js';
import { countParams, forwardFlops, initParams } from '../src/model/index.js';
import { GraphBuilder } from '../src/onnx/graph.js';

/**
 * The ViT for small datasets (src/families/vit_small/) beyond what test/families.test.ts and
 * test/pytorch-import.test.ts check of every family: the presets are train_cifar10.py's calls,
 * their sizes counted by hand and by PyTorch; the shifts against F.pad written out plainly, with
 * their gradient; the diagonal mask and its gradient; every parameter's gradient (the temperatures
 * included) against PyTorch's autograd; the attention rollout.
 */
const BENCH = join(import.meta.dirname, '..', 'bench');
const torchMissing = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;
const needsTorch = { skip: torchMissing ? 'needs /usr/bin/python3 with torch (apt-get install python3-torch)' : false };

function python(code: string): unknown {
  const run = spawnSync('/usr/bin/python3', ['-c', `import sys, json\nsys.path.insert(0, ${JSON.stringify(BENCH)})\n${code}`], { encoding: 'utf8', maxBuffer: 64 << 20 });
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout);
}

const tiny = (model: Record<string, unknown> = {}) =>
  ConfigSchema.parse({ model: { name: 'vit_small', dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8, dropout: 0, emb_dropout: 0, ...model } }).model as VitSmallConfig;

before(async () => {
  await tf.setBackend('cpu');
});

test("vit_small: configs/k/vit_small.json and vit_tiny.json are train_cifar10.py's --net vit_small and --net vit_tiny calls", () => {
  const call = { name: 'vit_small', image_size: 32, patch_size: 4, num_classes: 10, dim: 512, dim_head: 64, dropout: 0.1, emb_dropout: 0.1, pool: 'cls' };
  assert.deepEqual({ ...loadConfig('configs/k/vit_small.json', []).model }, { ...call, depth: 6, heads: 8, mlp_dim: 512 });
  assert.deepEqual({ ...loadConfig('configs/k/vit_tiny.json', []).model }, { ...call, depth: 4, heads: 6, mlp_dim: 256 });
  // The defaults are the vit_small call.
  assert.deepEqual(ConfigSchema.parse({ model: { name: 'vit_small' } }).model, loadConfig('configs/k/vit_small.json', []).model);
});

test('vit_small: forwardFlops of configs/k/vit_small.json and vit_tiny.json count the SPT Linear, every block and the head by hand', () => {
  const patches = 8 * 8; // 32 / patch 4
  const tokens = patches + 1; // and the cls token
  const spt = patches * (4 * 4 * 5 * 3) * 512; // 5 views × 3 channels per pixel of a 4×4 patch → 512
  const block = (heads: number, mlp: number) =>
    tokens * 512 * 3 * heads * 64 + // qkv (heads × 64 inner)
    2 * heads * tokens * tokens * 64 + // q·kᵀ and ·v
    tokens * heads * 64 * 512 + // out
    2 * tokens * 512 * mlp; // fc1, fc2
  const head = 512 * 10;
  assert.equal(forwardFlops(loadConfig('configs/k/vit_small.json', []).model), 2 * (spt + 6 * block(8, 512) + head));
  assert.equal(forwardFlops(loadConfig('configs/k/vit_tiny.json', []).model), 2 * (spt + 4 * block(6, 256) + head));
  assert.equal(2 * (spt + 6 * block(8, 512) + head), 1_294_489_600);
});

test("vit_small: the presets' parameter counts are PyTorch's (9,622,512 and 4,371,438, counted in PyTorch 1.13)", () => {
  assert.equal(countParams(loadConfig('configs/k/vit_small.json', []).model), 9_622_512);
  assert.equal(countParams(loadConfig('configs/k/vit_tiny.json', []).model), 4_371_438);
});

test('vit_small: PyTorch builds the presets with those parameter counts', needsTorch, () => {
  const model = (file: string) => JSON.stringify(JSON.stringify(loadConfig(file, []).model));
  const counts = python(
    [
      'from kentaroy47_reference import build',
      `print(json.dumps([sum(p.numel() for p in build('vit_small', json.loads(m)).parameters()) for m in [${model('configs/k/vit_small.json')}, ${model('configs/k/vit_tiny.json')}]]))`,
    ].join('\n'),
  );
  assert.deepEqual(counts, [9_622_512, 4_371_438]);
});

/** F.pad(x, (left, right, top, bottom)) on one HWC image, as PyTorch defines it: a negative pad crops. */
function plainPad(x: number[][][], [left, right, top, bottom]: number[]): number[][][] {
  const [h, w] = [x.length, x[0].length];
  return Array.from({ length: h + top + bottom }, (_, i) =>
    Array.from({ length: w + left + right }, (_, j) => {
      const [si, sj] = [i - top, j - left];
      return si >= 0 && si < h && sj >= 0 && sj < w ? [...x[si][sj]] : x[0][0].map(() => 0);
    }),
  );
}

test("vit_small: the shifted views are the image and F.pad's four one-pixel shifts, in the reference's order; their gradient sums the views'", () => {
  const [b, h, w, c] = [2, 4, 5, 3];
  const x = tf.tensor4d(Array.from({ length: b * h * w * c }, (_, i) => (i * 7919) % 101 / 10 - 5), [b, h, w, c]);
  const images = x.arraySync();
  const shifts = [[1, -1, 0, 0], [-1, 1, 0, 0], [0, 0, 1, -1], [0, 0, -1, 1]];
  // torch.cat((x, *shifted), dim=1), written in HWC: per pixel, the image's channels then each shift's.
  const expected = images.map((image) => {
    const views = [image, ...shifts.map((s) => plainPad(image, s))];
    return image.map((row, i) => row.map((_, j) => views.flatMap((v) => v[i][j])));
  });
  const views = shiftedViews(x);
  assert.deepEqual(views.shape, [b, h, w, 5 * c]);
  assert.deepEqual(views.arraySync(), expected);

  // d/dx Σ views · weights: each view reads x at one offset, so x[i, j] collects the weights of
  // every (view, position) that reads it; computed here by walking the plain definition.
  const weights = tf.randomNormal([b, h, w, 5 * c], 0, 1, 'float32', 3);
  const wv = weights.arraySync() as number[][][][];
  const offsets = [[0, 0], [0, -1], [0, 1], [-1, 0], [1, 0]]; // view k at (i, j) reads x[i + dy, j + dx]
  const plainGrad = images.map((image, n) => image.map((row) => row.map((px) => px.map(() => 0))));
  for (let n = 0; n < b; n++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) {
    offsets.forEach(([dy, dx], k) => {
      const [si, sj] = [i + dy, j + dx];
      if (si < 0 || si >= h || sj < 0 || sj >= w) return;
      for (let ch = 0; ch < c; ch++) plainGrad[n][si][sj][ch] += wv[n][i][j][k * c + ch];
    });
  }
  const grad = tf.grad((input: tf.Tensor) => tf.sum(tf.mul(shiftedViews(input as tf.Tensor4D), weights)))(x);
  const got = grad.arraySync() as number[][][][];
  got.flat(3).forEach((v, i) => assert.ok(Math.abs(v - plainGrad.flat(3)[i]) < 1e-5, `grad[${i}]: ${v} vs ${plainGrad.flat(3)[i]}`));
  tf.dispose([x, views, weights, grad]);
});

test("vit_small: the mask is masked_fill(eye, −max float32), and no gradient flows through the diagonal", () => {
  const dots = tf.tensor3d([[[1, -2, 3], [4, 5, -6], [7, 8, 9]]]);
  const masked = maskDiagonal(dots).arraySync() as number[][][];
  assert.deepEqual(masked, [[[MASK_VALUE, -2, 3], [4, MASK_VALUE, -6], [7, 8, MASK_VALUE]]]);
  assert.equal(Math.fround(MASK_VALUE), MASK_VALUE, 'exactly −max float32');
  const softmaxDiagonal = tf.tidy(() => tf.softmax(maskDiagonal(dots)).arraySync() as number[][][]);
  softmaxDiagonal[0].forEach((row, i) => assert.equal(row[i], 0));
  const grad = tf.grad((d: tf.Tensor) => tf.sum(tf.mul(maskDiagonal(d), tf.tensor3d([[[2, 3, 4], [5, 6, 7], [8, 9, 10]]]))))(dots);
  assert.deepEqual(grad.arraySync(), [[[0, 3, 4], [5, 0, 7], [8, 9, 0]]]);
  tf.dispose([dots, grad]);
});

test("vit_small: every parameter's gradient (SPT, the temperatures, through the mask) is PyTorch autograd's", needsTorch, () => {
  const cfg = tiny({ heads: 3, pool: 'cls' });
  const reference = python(
    [
      'import torch, torch.nn.functional as F',
      'from kentaroy47_reference import build',
      `model = build('vit_small', json.loads(${JSON.stringify(JSON.stringify(cfg))}))`,
      'torch.manual_seed(4)',
      'with torch.no_grad():',
      '    for p in model.parameters(): p.add_(torch.randn_like(p) * 0.3)  # away from the init: temperatures ≠ log(1/√d), LayerNorms not 1, 0',
      'x = torch.randn(3, 3, 32, 32)',
      'loss = F.cross_entropy(model(x), torch.tensor([1, 5, 9]))',
      'loss.backward()',
      'out = {"images": x.permute(0, 2, 3, 1).flatten().tolist(), "loss": loss.item(),',
      '       "state": {k: [list(v.shape), v.flatten().tolist()] for k, v in model.state_dict().items()},',
      '       "grads": {k: [list(p.shape), p.grad.flatten().tolist()] for k, p in model.named_parameters()}}',
      'print(json.dumps(out))',
    ].join('\n'),
  ) as { images: number[]; loss: number; state: Record<string, [number[], number[]]>; grads: Record<string, [number[], number[]]> };
  const ours = (tensors: Record<string, [number[], number[]]>) =>
    fromPytorchStateDict(
      Object.fromEntries(Object.entries(tensors).map(([k, [shape, data]]) => [k, { dtype: 'F32', shape, data: Float32Array.from(data) } as SafeTensor])),
      cfg,
      'PyTorch',
    );
  const params = initParams(cfg, 0);
  for (const [name, t] of Object.entries(ours(reference.state))) params[name].assign(tf.tensor(t.data, t.shape));
  const theirs = ours(reference.grads);

  const images = tf.tensor4d(reference.images, [3, 32, 32, 3]);
  const labels = tf.oneHot(tf.tensor1d([1, 5, 9], 'int32'), 10);
  const loss = () => tf.losses.softmaxCrossEntropy(labels, vitSmallForward(params, cfg, images, { training: false })) as tf.Scalar;
  const { value, grads: byVariable } = tf.variableGrads(loss, Object.values(params));
  const grads = Object.fromEntries(Object.entries(params).map(([name, v]) => [name, byVariable[v.name]]));
  assert.ok(Math.abs(value.dataSync()[0] - reference.loss) < 1e-5, `loss ${value.dataSync()[0]} vs PyTorch ${reference.loss}`);
  assert.deepEqual(Object.keys(grads).sort(), Object.keys(theirs).sort());
  for (const [name, g] of Object.entries(grads)) {
    const mine = g.dataSync();
    const scale = Math.max(1e-3, ...Array.from(theirs[name].data, Math.abs));
    const error = Math.max(...Array.from(mine, (v, i) => Math.abs(v - theirs[name].data[i]))) / scale;
    assert.ok(error < 1e-4, `${name}: max |Δgrad| / scale = ${error}`);
  }
  for (const name of ['blocks.0.attn.temperature', 'blocks.1.attn.temperature']) assert.ok(Math.abs(grads[name].dataSync()[0]) > 1e-4, `${name}'s gradient is not trivially 0`);
  tf.dispose([images, labels, value, ...Object.values(grads), ...Object.values(params)]);
});

test('vit_small: no token attends to itself; the rollout from the cls token sums to 1 over the patches; capturing changes no logit', () => {
  const cfg = tiny();
  const params = initParams(cfg, 3);
  const images = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 5) as tf.Tensor4D;
  const captured: tf.Tensor[] = [];
  const withCapture = vitSmallForward(params, cfg, images, { training: false, captureAttention: captured });
  const plain = vitSmallForward(params, cfg, images, { training: false });
  assert.deepEqual(plain.arraySync(), withCapture.arraySync());
  assert.equal(captured.length, 2);
  const diagonal = tf.tidy(() => tf.max(tf.mul(captured[0], tf.eye(17))).dataSync()[0]);
  assert.equal(diagonal, 0);

  const { weights, heads } = vitSmall.tokenMap!.map(params, cfg, images);
  assert.deepEqual(weights.shape, [2, 16]);
  assert.deepEqual(heads!.shape, [2, 2, 2, 16]);
  for (const sum of tf.sum(weights, -1).arraySync() as number[]) assert.ok(Math.abs(sum - 1) < 1e-5);
  tf.dispose([weights, heads!, images, plain, withCapture, ...captured, ...Object.values(params)]);
});

test('vit_small: weight decay and Muon leave the temperatures, norms, biases, cls token and positions alone', () => {
  const names = Object.keys(vitSmall.paramShapes(tiny()));
  assert.deepEqual(names.filter(vitSmall.isHiddenMatrix), [
    'patch_embed.linear.weight',
    ...[0, 1].flatMap((i) => [`blocks.${i}.attn.qkv.weight`, `blocks.${i}.attn.out.weight`, `blocks.${i}.mlp.fc1.weight`, `blocks.${i}.mlp.fc2.weight`]),
  ]);
  assert.deepEqual(names.filter(vitSmall.isDecayed), [...names.filter(vitSmall.isHiddenMatrix), 'head.linear.weight']);
  const temperature = initParams(tiny(), 0)['blocks.0.attn.temperature'];
  assert.ok(Math.abs(temperature.dataSync()[0] - Math.log(8 ** -0.5)) < 1e-7, 'initialised to log(dim_head^-½)');
});

test('vit_small: the ONNX graph shifts with one Pad and four Slices and masks every block with the same diagonal constants', () => {
  const cfg = tiny();
  const params = initParams(cfg, 0);
  const weights = Object.fromEntries(Object.entries(params).map(([name, v]) => [name, { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array } as SafeTensor]));
  const g = new GraphBuilder();
  vitSmall.onnx(g, g.reserve('images'), weights, cfg);
  const count = (op: string) => g.nodes.filter((n) => n.opType === op).length;
  assert.equal(count('Pad'), 1);
  assert.equal(count('Slice'), 4);
  assert.equal(count('Exp'), cfg.depth, 'one temperature per block');
  const masked = g.nodes.filter((n) => n.name.endsWith('.masked'));
  assert.equal(masked.length, cfg.depth);
  const fill = g.initializers.find((t) => t.name === 'lsa.diagonal_fill')!;
  assert.deepEqual(fill.dims.map(Number), [17, 17]);
  tf.dispose(Object.values(params));
});
