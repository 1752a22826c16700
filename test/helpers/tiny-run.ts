import * as tf from '@tensorflow/tfjs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigSchema } from '../../src/config/schema.js';
import { type Cifar10, loadCifar10 } from '../../src/data/cifar10.js';
import { writeSyntheticCifar10 } from '../../src/data/synthetic.js';
import { createRunDir } from '../../src/train/run-dir.js';
import { train } from '../../src/train/trainer.js';

/** A two-epoch run of a tiny ViT (patch 8: a 4×4 token grid, 2 blocks of 2 heads) on a synthetic set. */
export async function tinyTrainedRun(prefix: string): Promise<{ root: string; dataDir: string; runDir: string; data: Cifar10 }> {
  const root = await mkdtemp(join(tmpdir(), prefix));
  const dataDir = join(root, 'data');
  const data = await loadCifar10(await writeSyntheticCifar10(dataDir, { perBatch: 40, seed: 1 }));
  const config = ConfigSchema.parse({
    run_name: 'tiny',
    checkpoint_dir: root,
    backend: 'cpu',
    data: { limit_train: 96, limit_test: 30 },
    model: { dim: 16, depth: 2, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
    optimizer: { lr: 1e-2 },
    train: { epochs: 2, batch_size: 32, eval_batch_size: 40 },
  });
  await tf.setBackend('cpu');
  const runDir = await createRunDir(root, 'tiny');
  await train({ config, data, runDir, backend: 'cpu' });
  return { root, dataDir, runDir, data };
}
