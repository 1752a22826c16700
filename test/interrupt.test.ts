import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { vit, vitInterrupted } from './helpers/cli.js';

test('Ctrl-C during `vit train` saves last/, exits 130 and says how to resume; --resume finishes the run', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vit-sigint-'));
  const dataDir = join(root, 'data');
  await writeSyntheticCifar10(dataDir, { perBatch: 100, seed: 0 });
  const config = join(root, 'tiny.json');
  await writeFile(
    config,
    JSON.stringify({
      checkpoint_dir: join(root, 'checkpoints'),
      data: { limit_test: 50 },
      model: { dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
      train: { epochs: 3, batch_size: 10, eval_batch_size: 50 },
      backend: 'cpu',
    }),
  );

  // Interrupt in the second epoch, once the first has been reported.
  const { code, stderr } = await vitInterrupted(['train', '--config', config, '--data-dir', dataDir], /^epoch 1\/3/m);

  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted at epoch 2, step \d+\/50/);
  const last = join(root, 'checkpoints', 'tiny', 'last');
  assert.match(stderr, new RegExp(`resume with: vit train --resume ${last}`));
  assert.equal((await loadCheckpoint(last)).state.epoch, 1);
  assert.ok(existsSync(join(root, 'checkpoints', 'tiny', 'best', 'weights.safetensors')), 'best/ of epoch 1 is kept');

  const resumed = vit(['train', '--resume', last, '--data-dir', dataDir]);
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stdout, /resuming after epoch 1/);
  assert.equal((await loadCheckpoint(last)).state.epoch, 3);
});
