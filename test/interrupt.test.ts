import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { spawn } from 'node:child_process';
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

test('a second SIGTERM (Slurm signals every process of a job, `vit sweep` forwards it) does not stop the step or the save of last/', async () => {
  const root = await mkdtemp(join(tmpdir(), 'vit-sigterm-'));
  const dataDir = join(root, 'data');
  await writeSyntheticCifar10(dataDir, { perBatch: 100, seed: 0 });
  const config = join(root, 'tiny.json');
  // Five steps of 100 images an epoch on the slow cpu backend: the second signal lands inside a step.
  await writeFile(
    config,
    JSON.stringify({
      checkpoint_dir: join(root, 'checkpoints'),
      data: { limit_test: 50 },
      model: { dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
      train: { epochs: 3, batch_size: 100, eval_batch_size: 50 },
      backend: 'cpu',
    }),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'train', '--config', config, '--data-dir', dataDir], { env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  const signalled: string[] = [];
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    if (/^epoch 1\/3/m.test(stdout) && signalled.length === 0) signalled.push('first') && child.kill('SIGTERM');
  });
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    // The second once the first has been taken in (two at once would merge into one).
    if (/SIGTERM: finishing the current step/.test(stderr) && signalled.length === 1) signalled.push('second') && child.kill('SIGTERM');
  });
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));

  assert.deepEqual(signalled, ['first', 'second']);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted at epoch 2, step \d\/5; saved /);
  const state = (await loadCheckpoint(join(root, 'checkpoints', 'tiny', 'last'))).state;
  assert.equal(state.epoch, 1);
  assert.match(stderr, new RegExp(`interrupted at epoch 2, step ${state.step_in_epoch}/5`), 'last/ is the checkpoint of the interrupted step');
});
