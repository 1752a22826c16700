import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { readMetrics } from '../src/train/metrics-csv.js';
import { SHARED_ARCHIVE, SHARED_MD5, vit } from './helpers/cli.js';

/**
 * CI's smoke training: `configs/smoke.json` end to end through the CLI, on real CIFAR-10 images
 * when ../shared has them, else on the synthetic set in the same binary format.
 */
const real = existsSync(SHARED_ARCHIVE);
let dataDir: string;
let checkpointDir: string;

before(async () => {
  const root = await mkdtemp(join(tmpdir(), 'vit-smoke-'));
  dataDir = join(root, 'data');
  checkpointDir = join(root, 'checkpoints');
  if (real) {
    const download = vit(['data', 'download', '--source', SHARED_ARCHIVE, '--md5', SHARED_MD5, '--data-dir', dataDir]);
    assert.equal(download.code, 0, download.stderr);
  } else {
    await writeSyntheticCifar10(dataDir, { perBatch: 1000, seed: 0 });
  }
});

test(`smoke training learns (${real ? 'real CIFAR-10 subset' : 'synthetic set: ../shared absent'}), and eval of best/ agrees`, async () => {
  const trained = vit(['train', '--config', 'configs/smoke.json', '--data-dir', dataDir, '--set', `checkpoint_dir=${checkpointDir}`]);
  assert.equal(trained.code, 0, trained.stderr);
  console.log(trained.stdout.split('\n').filter((l) => l.startsWith('epoch') || l.startsWith('backend')).join('\n'));

  const runDir = join(checkpointDir, 'smoke');
  const rows = await readMetrics(join(runDir, 'metrics.csv'));
  const first = rows[0];
  const last = rows[rows.length - 1];
  assert.ok(last.train_loss < first.train_loss, `train loss fell: ${first.train_loss} → ${last.train_loss}`);
  const best = rows.reduce((a, b) => (b.val_acc > a.val_acc ? b : a));
  assert.ok(best.val_acc > (real ? 0.25 : 0.9), `val accuracy ${best.val_acc} is clearly above chance (0.1)`);

  const evaluated = vit(['eval', '--checkpoint', join(runDir, 'best'), '--data-dir', dataDir, '--json']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const result = JSON.parse(evaluated.stdout);
  assert.ok(Math.abs(result.accuracy - best.val_acc) < 1e-6, `eval ${result.accuracy} reproduces the recorded ${best.val_acc}`);
  assert.equal(result.confusion.length, 10);
});
