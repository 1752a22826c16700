import * as tf from '@tensorflow/tfjs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Config, ConfigSchema } from '../config/schema.js';
import { IMAGE_BYTES, IMAGE_SIZE, loadCifar10 } from '../data/cifar10.js';
import { writeSyntheticCifar10 } from '../data/synthetic.js';
import { initParams } from '../model/index.js';
import { Optimizer } from '../train/optimizer.js';
import { stepSeed } from '../train/seeds.js';
import { trainStep } from '../train/train-step.js';

/**
 * The runs that guard performance work against changing results: `configs/smoke.json`'s ViT and
 * a small CCT with dropout, stochastic depth, clipping and label smoothing switched on (so every
 * code path of a training step is exercised), trained for GUARD_STEPS steps on the synthetic set. Batches are
 * the first images in file order, scaled here rather than through the augmentation pipeline, so
 * that only the model, the loss, the gradients and the optimizer decide the losses.
 */
export const GUARD_STEPS = 20;
const BATCH = 8;
const LR = 2e-3;

export const GUARD_CONFIGS = {
  vit: ConfigSchema.parse({
    seed: 7,
    model: { patch_size: 8, dim: 64, depth: 2, heads: 4, dim_head: 16, mlp_dim: 128, dropout: 0.1, emb_dropout: 0.1, attn_dropout: 0.1, drop_path: 0.1 },
    optimizer: { lr: LR, weight_decay: 0.05, grad_clip: 1 },
    train: { batch_size: BATCH, label_smoothing: 0.1 },
  }),
  // configs/cpu-1h.json's CCT, narrower: two conv layers (im2col, max pooling and their
  // gradients), learnable positions, sequence pooling, stochastic depth.
  cct: ConfigSchema.parse({
    seed: 7,
    model: { name: 'cct', dim: 32, depth: 2, heads: 2, mlp_ratio: 1, conv_layers: 2, conv_channels: 16, drop_path: 0.1 },
    optimizer: { lr: LR, weight_decay: 0.05, grad_clip: 1 },
    train: { batch_size: BATCH, label_smoothing: 0.1 },
  }),
} satisfies Record<string, Config>;
export type GuardModel = keyof typeof GUARD_CONFIGS;

/** The per-step training losses of the guard run of `model` on the current tfjs backend. */
export async function guardLosses(model: GuardModel): Promise<number[]> {
  const images = await syntheticImages(GUARD_STEPS * BATCH);
  const cfg = GUARD_CONFIGS[model];
  const params = initParams(cfg.model, cfg.seed);
  const optimizer = Optimizer.forModel(params, cfg);
  const losses: number[] = [];
  for (let step = 0; step < GUARD_STEPS; step++) {
    const batch = tf.tidy(() => ({
      x: tf.tensor4d(images.x.subarray(step * BATCH * IMAGE_BYTES, (step + 1) * BATCH * IMAGE_BYTES), [BATCH, IMAGE_SIZE, IMAGE_SIZE, 3]),
      y: tf.tensor1d(images.y.subarray(step * BATCH, (step + 1) * BATCH), 'int32'),
    }));
    const result = await trainStep(params, cfg.model, optimizer, batch, {
      lr: LR,
      labelSmoothing: cfg.train.label_smoothing,
      seed: stepSeed(cfg.seed, step),
    });
    tf.dispose(batch);
    losses.push(result.loss);
  }
  optimizer.dispose();
  tf.dispose(Object.values(params));
  return losses;
}

/** The first `count` synthetic training images, scaled to [-1, 1], with their labels. */
async function syntheticImages(count: number): Promise<{ x: Float32Array; y: Int32Array }> {
  const dir = await mkdtemp(join(tmpdir(), 'vit-guard-'));
  try {
    const data = await loadCifar10(await writeSyntheticCifar10(dir, { perBatch: Math.ceil(count / 5), seed: 0 }));
    const x = Float32Array.from(data.train.images.subarray(0, count * IMAGE_BYTES), (v) => v / 127.5 - 1);
    return { x, y: Int32Array.from(data.train.labels.subarray(0, count)) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
