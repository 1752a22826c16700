import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { useBackend } from '../../src/backend/index.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { initParams } from '../../src/model/index.js';
import { Optimizer } from '../../src/train/optimizer.js';
import { trainStep } from '../../src/train/train-step.js';

/**
 * Trains a small ConvMixer and a ResNet for two steps on fixed data (wasm with the native kernels,
 * as many threads as VIT_NUM_THREADS says) and prints the sha256 of each one's parameters and
 * buffers, for test/native-convnet.test.ts to compare between processes.
 */
const backend = await useBackend('wasm');
const digests: string[] = [];
for (const model of [
  { name: 'convmixer', dim: 48, depth: 2, kernel_size: 8, patch_size: 2 },
  { name: 'resnet', num_blocks: [1, 1, 1, 1] },
]) {
  const config = ConfigSchema.parse({ model, optimizer: { name: 'sgd', lr: 0.05, sgd: { momentum: 0.9 } } });
  const params = initParams(config.model, 3);
  const optimizer = Optimizer.forModel(params, config);
  const x = tf.tensor4d(Float32Array.from({ length: 24 * 32 * 32 * 3 }, (_, i) => Math.sin(i * 0.013) * 1.5), [24, 32, 32, 3]);
  const y = tf.tensor1d(Array.from({ length: 24 }, (_, i) => i % 10), 'int32');
  for (let step = 0; step < 2; step++) await trainStep(params, config.model, optimizer, { x, y }, { lr: 0.05, labelSmoothing: 0, seed: step + 1 });
  const hash = createHash('sha256');
  for (const name of Object.keys(params).sort()) hash.update(Buffer.from((params[name].dataSync() as Float32Array).buffer));
  digests.push(`${model.name} ${hash.digest('hex')}`);
  tf.dispose([x, y, ...Object.values(params)]);
  optimizer.dispose();
}
backend.dispose();
console.log(digests.join(' '));
