import assert from 'node:assert/strict';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { vit, vitInterrupted } from './helpers/cli.js';
import { nativeOrSkip } from './helpers/native.js';

/**
 * Bit-exact training with the native kernels on: the same run in two processes gives the same
 * metrics and the same weight bytes, and a run interrupted with Ctrl-C and resumed ends with the
 * bytes of the uninterrupted one, for a CCT (the main job's family: tokenizer kernels, EMA, label
 * smoothing, flip TTA), a classic ViT, a ConvMixer and a ResNet (BatchNorm, depthwise convs), a
 * Swin (window attention) and a MobileViT (BatchNorm with SiLU, strided depthwise convs). Sizes are above the kernels' multithreading thresholds.
 */
let root: string;
let dataDir: string;

const FAMILIES = {
  cct: { // the main job's recipe (configs/cpu-1h.json), shrunk
    data: { crop_padding: 2, crop_mode: 'reflect', flip_mode: 'alternate' },
    optimizer: { name: 'muon', lr: 2e-3, weight_decay: 0.05 },
    model: { name: 'cct', dim: 32, depth: 2, heads: 2, mlp_ratio: 1, conv_layers: 2, conv_channels: 16, positional_embedding: 'learnable' },
    train: { epochs: 2, batch_size: 32, eval_batch_size: 100, label_smoothing: 0.1, ema: { decay: 0.99 }, eval_tta: 'flip' },
  },
  vit: {
    model: { dim: 32, depth: 2, heads: 2, dim_head: 16, mlp_dim: 64, patch_size: 4 },
    train: { epochs: 2, batch_size: 32, eval_batch_size: 100 },
  },
  // BatchNorm (fused with GELU; running statistics in the weights, copied by EMA), depthwise convs
  // with an even kernel's 'same' padding, SGD with Nesterov momentum.
  convmixer: {
    model: { name: 'convmixer', dim: 32, depth: 2, kernel_size: 4, patch_size: 2 },
    optimizer: { name: 'sgd', lr: 0.05, weight_decay: 5e-4, sgd: { momentum: 0.9, nesterov: true } },
    train: { epochs: 2, batch_size: 32, eval_batch_size: 100, label_smoothing: 0.1, ema: { decay: 0.99 }, eval_tta: 'flip' },
  },
  // BatchNorm fused with ReLU, strided and projection convs, Muon on the convs.
  resnet: {
    model: { name: 'resnet', num_blocks: [1, 1, 1, 1] },
    optimizer: { name: 'muon', lr: 2e-3 },
    train: { epochs: 2, batch_size: 32, eval_batch_size: 100 },
  },
  // Swin's fused window attention: regular and shifted windows, the bias's gradient summed over the batch.
  swin: {
    model: { name: 'swin', hidden_dim: 16, layers: [2, 2, 0, 0], heads: [2, 2, 2, 2], head_dim: 8, window_size: 4, downscaling_factors: [2, 2, 1, 1] },
    train: { epochs: 2, batch_size: 32, eval_batch_size: 100 },
  },
  // BatchNorm fused with SiLU, strided depthwise convs, the unfold/fold transposes, 32×32 → 64×64 resize.
  mobilevit: {
    data: { resize: 64 },
    model: { name: 'mobilevit', image_size: 64, dims: [8, 8, 8], channels: [4, 4, 8, 8, 8, 8, 8, 8, 8, 8, 16], patch_size: 2 },
    train: { epochs: 2, batch_size: 32, eval_batch_size: 100 },
  },
};

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-exact-'));
  dataDir = join(root, 'data');
  await writeSyntheticCifar10(dataDir, { perBatch: 100, seed: 5 });
  for (const [family, settings] of Object.entries(FAMILIES)) {
    const data = { limit_test: 100, val_split: 100, ...('data' in settings ? settings.data : {}) };
    const config = { checkpoint_dir: join(root, 'checkpoints'), backend: 'wasm', schedule: { warmup_epochs: 1 }, ...settings, data };
    await writeFile(join(root, `${family}.json`), JSON.stringify(config));
  }
});

function train(family: string, name: string) {
  const result = vit(['train', '--config', join(root, `${family}.json`), '--data-dir', dataDir, '--set', `run_name=${name}`]);
  assert.equal(result.code, 0, result.stderr);
}

/** `vit train` of `family` as run `name`, interrupted with Ctrl-C once epoch 1 is reported, then resumed. */
async function trainInterrupted(family: string, name: string): Promise<void> {
  const args = ['train', '--config', join(root, `${family}.json`), '--data-dir', dataDir, '--set', `run_name=${name}`];
  const { code, stderr } = await vitInterrupted(args, /^epoch 1\/2/m);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted at epoch 2, step \d+\/\d+/);
  const resumed = vit(['train', '--resume', join(root, 'checkpoints', name, 'last'), '--data-dir', dataDir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.doesNotMatch(resumed.stderr, /another set-up/);
}

const file = (run: string, name: string) => readFile(join(root, 'checkpoints', run, name));
/** metrics.csv without the columns that measure time. */
async function metrics(run: string): Promise<string[][]> {
  const [header, ...rows] = (await file(run, 'metrics.csv')).toString().trim().split('\n').map((line) => line.split(','));
  const timeless = header.map((h, i) => (/second|minute/.test(h) ? -1 : i)).filter((i) => i >= 0);
  return [header, ...rows].map((row) => timeless.map((i) => row[i]));
}

for (const family of Object.keys(FAMILIES)) {
  test(`${family}: two processes train the same bits; an interrupted and resumed run ends with them too`, async (t) => {
    if (!nativeOrSkip(t)) return;
    train(family, `${family}-a`);
    train(family, `${family}-b`);
    await trainInterrupted(family, `${family}-resumed`);
    const weights = await file(`${family}-a`, 'last/weights.safetensors');
    assert.ok(weights.equals(await file(`${family}-b`, 'last/weights.safetensors')), 'second process: other weights');
    assert.deepEqual(await metrics(`${family}-b`), await metrics(`${family}-a`));
    assert.ok(weights.equals(await file(`${family}-resumed`, 'last/weights.safetensors')), 'interrupted and resumed: other weights');
    assert.deepEqual(await metrics(`${family}-resumed`), await metrics(`${family}-a`));
    const optimizer = await file(`${family}-a`, 'last/optimizer.safetensors');
    assert.ok(optimizer.equals(await file(`${family}-resumed`, 'last/optimizer.safetensors')), 'interrupted and resumed: other optimizer state');
  });
}
