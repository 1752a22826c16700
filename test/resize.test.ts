import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { saveCheckpoint } from '../src/checkpoint/checkpoint.js';
import { exportCheckpoint } from '../src/cli/export.js';
import { parseConfig } from '../src/config/load.js';
import { ConfigSchema } from '../src/config/schema.js';
import { IMAGE_BYTES, loadCifar10 } from '../src/data/cifar10.js';
import { normalizationOf } from '../src/data/normalize.js';
import { atModelSize, initParams, modelForward } from '../src/model/index.js';
import { INPUT_NAME } from '../src/onnx/model.js';
import { nchwPixels } from '../src/onnx/runtime.js';
import { evaluate } from '../src/train/evaluate.js';
import { FRESH_STATE } from '../src/train/trainer.js';
import { realCifar10DataDir } from './helpers/real-cifar.js';

/**
 * data.resize: the images resized bilinearly before the model as PyTorch's
 * F.interpolate(mode="bilinear", align_corners=False) resizes them (upsampling by 2 and by the
 * non-integer 1.5), the same in the ONNX graph's Resize, and a config whose model.image_size is
 * not the images' side refused in one line naming both keys.
 */
const COUNT = 4;
let dir: string;
let images: Uint8Array;

before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'vit-resize-'));
  // Real CIFAR-10 test images where this machine has them, else patterned bytes.
  const dataDir = realCifar10DataDir(dir);
  const data = dataDir ? await loadCifar10(join(dataDir, 'cifar-10-batches-bin')) : null;
  images = data ? data.test.images.slice(0, COUNT * IMAGE_BYTES) : Uint8Array.from({ length: COUNT * IMAGE_BYTES }, (_, i) => (i * 37) % 256);
  await writeFile(join(dir, 'images.bin'), images);
});
after(() => rm(dir, { recursive: true, force: true }));

const torchMissing = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;

/** PyTorch's F.interpolate(bilinear, align_corners=False) of the images as floats 0-255, NHWC out. */
const INTERPOLATE = [
  'import sys, json, torch, torch.nn.functional as F',
  'count, side = int(sys.argv[2]), int(sys.argv[3])',
  "x = torch.frombuffer(bytearray(open(sys.argv[1], 'rb').read()), dtype=torch.uint8).view(count, 32, 32, 3).permute(0, 3, 1, 2).float()",
  "y = F.interpolate(x, size=(side, side), mode='bilinear', align_corners=False)",
  'print(json.dumps(y.permute(0, 2, 3, 1).flatten().tolist()))',
].join('\n');

for (const side of [64, 48]) {
  test(`resizing 32 → ${side} is PyTorch's F.interpolate(mode="bilinear", align_corners=False) on CIFAR-10 images`, { skip: torchMissing && 'needs /usr/bin/python3 with torch' }, () => {
    const run = spawnSync('/usr/bin/python3', ['-c', INTERPOLATE, join(dir, 'images.bin'), String(COUNT), String(side)], { encoding: 'utf8', maxBuffer: 1 << 28 });
    assert.equal(run.status, 0, run.stderr);
    const theirs = JSON.parse(run.stdout) as number[];
    const cfg = ConfigSchema.parse({ data: { resize: side }, model: { image_size: side, patch_size: side / 8 } }).model;
    const ours = tf.tidy(() => atModelSize(cfg, tf.tensor4d(Float32Array.from(images), [COUNT, 32, 32, 3])).dataSync());
    assert.equal(ours.length, theirs.length);
    const error = Math.max(...Array.from(ours, (v, i) => Math.abs(v - theirs[i])));
    assert.ok(error <= 1e-3, `max |Δ| = ${error} on values 0-255`);
  });
}

test('images at the model side are not resized; others are, once, before the family sees them', () => {
  const cfg = ConfigSchema.parse({ data: { resize: 48 }, model: { image_size: 48, patch_size: 8, dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 16 } }).model;
  const params = initParams(cfg, 1);
  const x = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 3) as tf.Tensor4D;
  const resized = atModelSize(cfg, x);
  assert.deepEqual(resized.shape, [2, 48, 48, 3]);
  assert.equal(atModelSize(cfg, resized), resized, 'at the model side: the same tensor');
  const before = tf.memory().numTensors;
  const direct = tf.tidy(() => modelForward(params, cfg, resized, { training: false }).arraySync());
  const viaResize = tf.tidy(() => modelForward(params, cfg, x, { training: false }).arraySync());
  assert.equal(tf.memory().numTensors, before, 'nothing leaks');
  assert.deepEqual(viaResize, direct);
  tf.dispose([x, resized, ...Object.values(params)]);
});

test("model.image_size must be data.resize, or the images' 32 without it: one line naming both keys", () => {
  const message = (raw: object) => {
    try {
      parseConfig(raw, 'c.json');
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.equal(
    message({ data: { resize: 64 }, model: { image_size: 48, patch_size: 8 } }),
    "c.json: model.image_size: 48 differs from data.resize (64): the model's input is the resized image, so they must be equal",
  );
  assert.equal(
    message({ model: { image_size: 64, patch_size: 8 } }),
    "c.json: model.image_size: 64 is not the images' side 32: set data.resize to 64 to resize them (or model.image_size to 32)",
  );
  assert.equal(message({ data: { resize: 64 }, model: { image_size: 64, patch_size: 8 } }), 'accepted');
  assert.equal(message({ data: { resize: null } }), 'accepted');
  assert.match(message({ data: { resize: 0 } }), /^c\.json: data\.resize: /);
});

test('the ONNX graph resizes inside (Resize, linear, half_pixel): ONNX Runtime on 32×32 pixels gives vit eval\'s logits, 32 → 48', async () => {
  const config = ConfigSchema.parse({
    data: { resize: 48, mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] },
    model: { image_size: 48, patch_size: 8, dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 16, pool: 'mean' },
  });
  const params = initParams(config.model, 2);
  const weights = Object.fromEntries(Object.entries(params).map(([name, v]) => [name, { shape: v.shape, data: v.dataSync() as Float32Array }]));
  const path = join(dir, 'ckpt');
  await saveCheckpoint(path, { config, weights, optimizer: {}, state: { ...FRESH_STATE }, meta: { tool: 'vit', version: '0', backend: 'cpu', date: '', metrics: null } });
  const ours = await evaluate(params, config.model, { images, labels: new Uint8Array(COUNT), count: COUNT }, { batchSize: COUNT, normalization: normalizationOf(config.data) });
  tf.dispose(Object.values(params));

  await exportCheckpoint(path, join(dir, 'model.onnx'));
  const session = await ort.InferenceSession.create(await readFile(join(dir, 'model.onnx')));
  const perImage = Array.from({ length: COUNT }, (_, i) => images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES));
  const result = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', nchwPixels(perImage), [COUNT, 3, 32, 32]) });
  await session.release();
  const logits = result[session.outputNames[0]].data as Float32Array;
  const scale = Math.max(...Array.from(ours.logits, Math.abs));
  const error = Math.max(...Array.from(logits, (v, i) => Math.abs(v - ours.logits[i]))) / scale;
  assert.ok(error <= 1e-4, `max |Δlogit| / scale = ${error}`);
});
