import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { loadConfig, parseConfig } from '../src/config/load.js';
import { stridedDepthwise } from '../src/families/mobilevit/model.js';
import { countParams, forwardFlops, modelForward, initParams, modelName } from '../src/model/index.js';

/**
 * MobileViT's own checks (test/families.test.ts and test/pytorch-import.test.ts compare it with
 * PyTorch): the preset's FLOPs counted by hand and its parameters as PyTorch counts them, the
 * depthwise conv's two ways (tfjs's strided kernel, or stride 1 then every second output: what
 * wasm with the native addon runs) equal in value and gradient, and the image sizes mobilevit.py
 * cannot take refused in one line.
 */
before(async () => {
  await tf.setBackend('cpu');
});

test('forwardFlops of configs/k/mobilevit.json (mobilevit_xxs at 64×64) counts every conv, transformer and the head by hand', () => {
  const cfg = loadConfig('configs/k/mobilevit.json', []).model;
  const conv = (side: number, k: number, cin: number, cout: number) => side * side * k * k * cin * cout;
  const depthwise = (side: number, c: number) => side * side * 9 * c;
  // One transformer layer on n positions, in groups of `tokens` (4 heads of 8: inner width 32).
  const layer = (n: number, tokens: number, dim: number, mlp: number) => n * dim * 96 + 2 * 4 * n * tokens * 8 + n * 32 * dim + 2 * n * dim * mlp;
  const mobileVit = (side: number, c: number, dim: number, depth: number, mlp: number) =>
    conv(side, 3, c, c) + conv(side, 1, c, dim) + depth * layer(side * side, (side / 2) ** 2, dim, mlp) + conv(side, 1, dim, c) + conv(side, 3, 2 * c, c);
  const macs =
    conv(32, 3, 3, 16) + // the stem: 64 → 32
    conv(32, 1, 16, 32) + depthwise(32, 32) + conv(32, 1, 32, 16) + // mv2[0], 16 → 16, hidden 32
    conv(32, 1, 16, 32) + depthwise(16, 32) + conv(16, 1, 32, 24) + // mv2[1], stride 2: 32 → 16
    2 * (conv(16, 1, 24, 48) + depthwise(16, 48) + conv(16, 1, 48, 24)) + // mv2[2], mv2[3]
    conv(16, 1, 24, 48) + depthwise(8, 48) + conv(8, 1, 48, 48) + // mv2[4], stride 2: 16 → 8
    mobileVit(8, 48, 64, 2, 128) +
    conv(8, 1, 48, 96) + depthwise(4, 96) + conv(4, 1, 96, 64) + // mv2[5]: 8 → 4
    mobileVit(4, 64, 80, 4, 320) +
    conv(4, 1, 64, 128) + depthwise(2, 128) + conv(2, 1, 128, 80) + // mv2[6]: 4 → 2
    mobileVit(2, 80, 96, 3, 384) +
    conv(2, 1, 80, 320) + 320 * 10; // the head conv and the Linear
  assert.equal(forwardFlops(cfg), 2 * macs);
  assert.equal(forwardFlops(cfg), 40_918_784);
});

test("the preset is mobilevit_xxs(64, 10), with PyTorch's parameter count (1.13: 1,014,672)", () => {
  const cfg = loadConfig('configs/k/mobilevit.json', []).model;
  assert.equal(modelName(cfg), 'MobileViT-XXS');
  assert.equal(countParams(cfg), 1_014_672);
  assert.deepEqual(loadConfig('configs/k/mobilevit.json', []).data.resize, 64);
});

for (const stride of [1, 2]) {
  test(`the depthwise conv, stride ${stride}: ours (in tfjs ops on this backend: the stride-1 taps${stride === 2 ? ' then every second output' : ''}) is tfjs's depthwise conv, values and gradients`, () => {
    const x = tf.randomNormal([2, 6, 6, 5], 0, 1, 'float32', 1) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, 1, 5], 0, 1, 'float32', 2);
    const dy = tf.randomNormal([2, 6 / stride, 6 / stride, 5], 0, 1, 'float32', 3);
    const run = (ours: boolean) => {
      const grads = tf.grads((a, b) => tf.sum(tf.mul(stridedDepthwise(a as tf.Tensor4D, b, stride, ours), dy)));
      const y = stridedDepthwise(x, w, stride, ours);
      return [y, ...grads([x, w])].map((t) => Array.from(t.dataSync()));
    };
    const [theirs, ours] = [run(false), run(true)];
    ['output', 'dx', 'dw'].forEach((what, i) => {
      const error = Math.max(...ours[i].map((v, j) => Math.abs(v - theirs[i][j])));
      assert.ok(error < 1e-5, `${what}: max |Δ| = ${error}`);
    });
    tf.dispose([x, w, dy]);
  });
}

test('a training step at 64×64 from 32×32 images (data.resize) gives finite logits and updates the BatchNorm buffers', () => {
  const cfg = parseConfig(
    { data: { resize: 64 }, model: { name: 'mobilevit', image_size: 64, dims: [8, 8, 8], channels: [4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 16], patch_size: 2 } },
    'c.json',
  ).model;
  const params = initParams(cfg, 0);
  const images = tf.randomNormal([2, 32, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
  const bufferUpdates: Record<string, tf.Tensor> = {};
  const logits = modelForward(params, cfg, images, { training: true, seed: 1, bufferUpdates });
  assert.deepEqual(logits.shape, [2, 10]);
  assert.ok(Array.from(logits.dataSync()).every(Number.isFinite));
  assert.ok(Object.keys(bufferUpdates).includes('mvit.2.fuse_norm.running_var'));
  tf.dispose([logits, images, ...Object.values(bufferUpdates), ...Object.values(params)]);
});

test("image sizes mobilevit.py cannot take, and channels it cannot wire, are refused in one line", () => {
  const message = (model: object, data: object = {}) => {
    try {
      parseConfig({ data, model: { name: 'mobilevit', ...model } }, 'c.json');
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.equal(
    message({ image_size: 32 }),
    'c.json: model.image_size: 32 leaves the last MobileViT block a 1x1 map, which patch_size 2 does not divide (mobilevit.py fails there): set model.image_size and data.resize to 64',
  );
  assert.match(message({ image_size: 48 }, { resize: 48 }), /^c\.json: model\.image_size: must be a multiple of 32 for a mobilevit .*got 48$/);
  assert.equal(message({}), "c.json: model.image_size: 64 is not the images' side 32: set data.resize to 64 to resize them (or model.image_size to 32)");
  assert.equal(message({}, { resize: 64 }), 'accepted');
  assert.equal(message({ image_size: 32, patch_size: 1 }), 'accepted');
  assert.match(message({ channels: [16, 16, 24, 24, 48, 40, 64, 64, 80, 80, 320] }, { resize: 64 }), /^c\.json: model\.channels: channels\[5\] \(40\) must equal channels\[4\] \(48\)[^\n]*$/);
  assert.match(message({ kernel_size: 5 }, { resize: 64 }), /^c\.json: model\.kernel_size: must be 3/);
});
