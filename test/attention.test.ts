import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';
import { restoreVariables } from '../src/checkpoint/weights.js';
import { IMAGE_BYTES } from '../src/data/cifar10.js';
import { cctGridSide } from '../src/families/cct/config.js';
import { vit as vitFamily } from '../src/families/vit/index.js';
import type { VitConfig } from '../src/families/vit/config.js';
import { vitForward } from '../src/families/vit/model.js';
import { parseConfig } from '../src/config/load.js';
import { initParams as familyInitParams, initParams, type Params, tokenMapName, tokenMaps } from '../src/model/index.js';
import { attentionFigure } from '../src/viz/attention-figure.js';
import { writePng } from '../src/viz/image-io.js';
import { vit } from './helpers/cli.js';
import { cctConfig } from './helpers/model-configs.js';
import { tinyTrainedRun } from './helpers/tiny-run.js';

let root: string;
let best: string;
let cfg: VitConfig;
let params: Params;
let images: tf.Tensor4D;
let files: string[];

before(async () => {
  const run = await tinyTrainedRun('vit-attention-');
  root = run.root;
  best = join(run.runDir, 'best');
  const ckpt = await loadCheckpoint(best);
  cfg = ckpt.config.model as VitConfig;
  params = initParams(cfg, 0);
  restoreVariables(params, ckpt.weights, 'best');
  images = tf.randomNormal([3, 32, 32, 3], 0, 1, 'float32', 7);
  files = [];
  for (let i = 0; i < 2; i++) {
    files.push(join(root, `test-${i}.png`));
    await writePng(files[i], { width: 32, height: 32, pixels: run.data.test.images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES) });
  }
});

test('captureAttention collects each block\'s attention probabilities without changing the output or leaking tensors', async () => {
  const plain = vitForward(params, cfg, images, { training: false });
  const before = tf.memory().numTensors;
  const captured: tf.Tensor[] = [];
  const logits = vitForward(params, cfg, images, { training: false, captureAttention: captured });
  assert.deepEqual(await logits.data(), await plain.data());
  assert.equal(captured.length, cfg.depth);
  for (const attention of captured) {
    assert.deepEqual(attention.shape, [3, cfg.heads, 17, 17]);
    const rowSums = tf.sum(attention, -1);
    for (const s of await rowSums.data()) assert.ok(Math.abs(s - 1) < 1e-5);
    rowSums.dispose();
  }
  tf.dispose([logits, ...captured]);
  assert.equal(tf.memory().numTensors, before);
  plain.dispose();
});

test("what vit attention says it draws follows the ViT's pooling: from the cls token, or averaged over the tokens", () => {
  assert.equal(tokenMapName(parseConfig({}, 'c.json').model), 'attention rollout from the cls token');
  assert.match(tokenMapName(parseConfig({ model: { pool: 'mean' } }, 'c.json').model) ?? '', /averaged over all tokens/);
});

test('the rollout is ½A+½I multiplied through the blocks, read from the cls row over the patches', async () => {
  const captured: tf.Tensor[] = [];
  tf.dispose(vitForward(params, cfg, images, { training: false, captureAttention: captured }));
  const perLayer = (await Promise.all(captured.map((a) => a.array()))) as number[][][][][];
  tf.dispose(captured);
  const before = tf.memory().numTensors;
  const { weights, heads } = vitFamily.tokenMap!.map(params, cfg, images);
  const [rollout, perHead] = [(await weights.array()) as number[][], (await heads!.array()) as number[][][][]];
  tf.dispose([weights, heads!]);
  assert.equal(tf.memory().numTensors, before);

  const n = 17;
  for (let b = 0; b < 3; b++) {
    // Plain arrays: Â_l = ½·mean_h(A_l) + ½·I, R = Â_2·Â_1.
    const mixed = perLayer.map((layer) =>
      Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => 0.5 * (layer[b][0][i][j] + layer[b][1][i][j]) / 2 + (i === j ? 0.5 : 0))),
    );
    const row = Array.from({ length: n }, (_, j) => mixed[1][0].reduce((sum, a, k) => sum + a * mixed[0][k][j], 0)).slice(1);
    const total = row.reduce((a, c) => a + c, 0);
    assert.equal(rollout[b].length, 16);
    rollout[b].forEach((w, j) => assert.ok(Math.abs(w - row[j] / total) < 1e-5, `image ${b} patch ${j}: ${w} vs ${row[j] / total}`));
    // Per layer and head: the raw cls-to-patch attention.
    assert.deepEqual([perHead[b].length, perHead[b][0].length, perHead[b][0][0].length], [2, 2, 16]);
    perHead[b][1][0].forEach((a, j) => assert.ok(Math.abs(a - perLayer[1][b][0][0][j + 1]) < 1e-6));
  }
});

test('vit attention draws each image beside its rollout, and with --layers the per-layer, per-head grid', async () => {
  const plainOut = join(root, 'attention.png');
  const gridOut = join(root, 'attention-layers.png');
  const plain = vit(['attention', '--checkpoint', best, '--backend', 'cpu', '--out', plainOut, ...files]);
  assert.equal(plain.code, 0, plain.stderr);
  const grid = vit(['attention', '--checkpoint', best, '--backend', 'cpu', '--layers', '--out', gridOut, ...files]);
  assert.equal(grid.code, 0, grid.stderr);
  const [a, b] = [await sharp(plainOut).metadata(), await sharp(gridOut).metadata()];
  assert.equal(a.format, 'png');
  assert.ok(a.width! >= 300 && a.height! >= 2 * 160, `${a.width}×${a.height}`);
  assert.ok(b.height! > a.height! + 2 * 2 * 64, 'two rows of small maps per image');
  const { data } = await sharp(plainOut).raw().toBuffer({ resolveWithObject: true });
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += 3) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  assert.ok(colours.size > 100, `only ${colours.size} colours`);
});

test('vit attention: a bad image or an output that is not .png is one error line', async () => {
  const bad = join(root, 'bad.jpg');
  await writeFile(bad, 'JFIF? no');
  const run = vit(['attention', '--checkpoint', best, '--backend', 'cpu', '--out', join(root, 'x.png'), bad]);
  assert.equal(run.code, 1);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.ok(run.stderr.includes(bad));
  const svg = vit(['attention', '--checkpoint', best, '--backend', 'cpu', '--out', join(root, 'x.svg'), files[0]]);
  assert.equal(svg.code, 1);
  assert.match(svg.stderr, /x\.svg: expected a file ending in \.png/);
});

test('the overlay puts the heat where the map is high: red at the attended patch, blue far from it', async () => {
  const image = { width: 32, height: 32, pixels: new Uint8Array(32 * 32 * 3).fill(128) };
  const map = Array.from({ length: 16 }, (_, i) => (i === 0 ? 1 : 0));
  const png = await attentionFigure([{ title: 'corner', image, map }]);
  // The overlay cell starts right of the 160-pixel input, below the captions and the title.
  const cell = await sharp(png).extract({ left: 172, top: 54, width: 160, height: 160 }).raw().toBuffer();
  const at = (x: number, y: number) => Array.from(cell.subarray(3 * (y * 160 + x), 3 * (y * 160 + x) + 3));
  for (const [x, y] of [[4, 4], [12, 6], [6, 14]]) {
    const [r, , b] = at(x, y);
    assert.ok(r > b + 40, `near the attended patch (${x}, ${y}) is red: ${at(x, y)}`);
  }
  for (const [x, y] of [[150, 150], [120, 140], [155, 100]]) {
    const [r, , b] = at(x, y);
    assert.ok(b > r + 40, `far from it (${x}, ${y}) is blue: ${at(x, y)}`);
  }
});

test('a CCT\'s map is its sequence-pooling weights: one weight per token of its grid, summing to 1', () => {
  const cctCfg = cctConfig({ dim: 16, depth: 1, heads: 2, mlp_ratio: 1, conv_layers: 1 });
  const cctParams = familyInitParams(cctCfg, 3);
  const maps = tokenMaps(cctParams, cctCfg, images)!;
  const side = cctGridSide(cctCfg);
  assert.deepEqual(maps.weights.shape, [3, side * side]);
  assert.equal(maps.heads, undefined);
  for (const row of maps.weights.arraySync()) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
  tf.dispose([maps.weights, ...Object.values(cctParams)]);
});
