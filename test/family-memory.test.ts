import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import { ConfigSchema } from '../src/config/schema.js';
import { type Cifar10, loadCifar10 } from '../src/data/cifar10.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { FAMILIES } from '../src/families/index.js';
import { createRunDir } from '../src/train/run-dir.js';
import { train } from '../src/train/trainer.js';
import { CASES } from './helpers/family-cases.js';

/**
 * Every family's whole run (training steps with dropout, evaluation, checkpoints) on the backend
 * training uses leaves no tensor behind: a step that kept one tensor would grow the heap by it
 * every step until a long run ran out of memory.
 */
let root: string;
let data: Cifar10;

before(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'vit-family-memory-'));
  data = await loadCifar10(await writeSyntheticCifar10(root, { perBatch: 40, seed: 1 }));
});
after(() => rm(root, { recursive: true, force: true }));

for (const family of FAMILIES) {
  test(`${family.name}: a whole run leaves no tensor behind`, async () => {
    const model = CASES[family.name];
    const config = ConfigSchema.parse({
      checkpoint_dir: root,
      seed: 3,
      data: { limit_train: 64, limit_test: 16, val_split: 16, ...(model.image_size ? { resize: model.image_size } : {}) },
      model,
      schedule: { warmup_epochs: 1 },
      train: { epochs: 2, batch_size: 16, eval_batch_size: 16, ema: { decay: 0.9 } },
      early_stopping: { enabled: false },
    });
    const before = tf.memory().numTensors;
    await train({ config, data, runDir: await createRunDir(root, family.name), backend: tf.getBackend() });
    assert.equal(tf.memory().numTensors, before);
  });
}
