import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import fsp, { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { syncBuiltinESMExports } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as tar from 'tar';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { useBackend } from '../src/backend/index.js';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';
import { type Config, ConfigSchema } from '../src/config/schema.js';
import { type Cifar10, DATASET_DIR, loadCifar10 } from '../src/data/cifar10.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { UserError } from '../src/errors.js';
import { readMetrics } from '../src/train/metrics-csv.js';
import { createRunDir } from '../src/train/run-dir.js';
import { train } from '../src/train/trainer.js';
import { vit } from './helpers/cli.js';
import { smallTmpfs } from './helpers/tmpfs.js';

let root: string;
let data: Cifar10;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-disk-full-'));
  data = await loadCifar10(await writeSyntheticCifar10(root, { perBatch: 20, seed: 1 }));
  await useBackend('wasm');
});
after(() => rm(root, { recursive: true, force: true }));

function tinyConfig(checkpointDir: string): Config {
  return ConfigSchema.parse({
    run_name: 'full',
    checkpoint_dir: checkpointDir,
    data: { limit_train: 32, limit_test: 20 },
    model: { dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
    train: { epochs: 2, batch_size: 32, eval_batch_size: 20 },
    early_stopping: { enabled: false },
  });
}

/** The message a full disk must produce when epoch 2's checkpoint cannot be written. */
const EPOCH_2_FULL = /^disk full \(ENOSPC\) while writing \S+; the previous last\/ \(epoch 1\) is intact; free some space and resume with: vit train --resume \S+\/last$/;

/** Trains 2 epochs; `afterEpoch1` makes the disk full. Returns the run dir and the error. */
async function runIntoFullDisk(checkpointDir: string, afterEpoch1: () => Promise<void> | void) {
  const config = tinyConfig(checkpointDir);
  const runDir = await createRunDir(checkpointDir, 'full');
  let filling: Promise<void> | void = undefined;
  const error = await train({
    config,
    data,
    runDir,
    backend: tf.getBackend(),
    events: { epoch: (row) => void (row.epoch === 1 && (filling = afterEpoch1())) },
  }).then(
    () => assert.fail('training should have stopped on the full disk'),
    (err: unknown) => err,
  );
  await filling;
  return { runDir, config, error };
}

/** Asserts that last/ still holds epoch 1, complete, and no temp directory is left beside it. */
async function assertEpoch1Intact(runDir: string) {
  assert.equal((await loadCheckpoint(join(runDir, 'last'))).state.epoch, 1);
  assert.deepEqual((await readdir(runDir)).filter((n) => n.includes('.tmp-')), []);
}

test('a write error while saving a checkpoint is one line naming last/, its intact epoch and how to resume (injected ENOSPC)', async () => {
  // fs.promises.writeFile, as the checkpoint code sees it, fails once armed.
  const original = fsp.writeFile;
  let armed = false;
  fsp.writeFile = (async (path: Parameters<typeof original>[0], ...rest: unknown[]) => {
    if (armed && String(path).endsWith('weights.safetensors')) {
      throw Object.assign(new Error(`ENOSPC: no space left on device, write`), { code: 'ENOSPC', syscall: 'write', path: String(path) });
    }
    return (original as (...a: unknown[]) => Promise<void>)(path, ...rest);
  }) as typeof original;
  syncBuiltinESMExports();
  try {
    const { runDir, error } = await runIntoFullDisk(join(root, 'injected'), () => void (armed = true));
    assert.ok(error instanceof UserError, `expected a UserError, got ${(error as Error).stack}`);
    assert.match(error.message, EPOCH_2_FULL);
    assert.ok(error.message.includes(join(runDir, 'last')));
    await assertEpoch1Intact(runDir);
  } finally {
    fsp.writeFile = original;
    syncBuiltinESMExports();
  }
});

/** Writes zeros to `path` until the file system is full. */
async function fillDisk(path: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    for (const size of [1 << 20, 1 << 12, 1]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          const { bytesWritten } = await fh.write(chunk);
          if (bytesWritten < size) break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
          break;
        }
      }
    }
  } finally {
    await fh.close();
  }
}

test('a disk that fills up between two checkpoint saves (tmpfs): one line, last/ of epoch 1 intact, resume completes', async (t) => {
  const fs = await smallTmpfs('2m');
  if (!fs) return t.skip('cannot mount a tmpfs here (needs root); the injected-error test covers the message');
  try {
    const filler = join(fs.dir, 'filler');
    const { runDir, config, error } = await runIntoFullDisk(fs.dir, () => fillDisk(filler));
    assert.ok(error instanceof UserError, `expected a UserError, got ${(error as Error).stack}`);
    // The metrics row or the checkpoint, whichever the disk refused first, is named in the same way.
    assert.match(error.message, /^disk full \(ENOSPC\) while writing \S+; the previous last\/ \(epoch 1\) is intact; free some space and resume with: vit train --resume \S+\/last$/);
    await assertEpoch1Intact(runDir);

    await rm(filler);
    const resume = await loadCheckpoint(join(runDir, 'last'));
    const result = await train({ config, data, runDir, backend: tf.getBackend(), resume });
    assert.equal(result.state.epoch, 2);
    assert.deepEqual((await readMetrics(join(runDir, 'metrics.csv'))).map((r) => r.epoch), [1, 2]);
  } finally {
    await fs.unmount();
  }
});

test('vit data download onto a full disk (tmpfs): one line, exit 1, and the data dir it created is gone', async (t) => {
  const fs = await smallTmpfs('256k');
  if (!fs) return t.skip('cannot mount a tmpfs here (needs root)');
  try {
    // About 1.8 MB of random pixels: more than the tmpfs holds.
    const staging = join(root, 'big');
    await writeSyntheticCifar10(staging, { perBatch: 100, seed: 2 });
    const archive = join(root, 'big.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd: staging }, [DATASET_DIR]);
    const md5 = createHash('md5').update(await readFile(archive)).digest('hex');
    const dataDir = join(fs.dir, 'data');

    const { code, stderr } = vit(['data', 'download', '--source', archive, '--md5', md5, '--data-dir', dataDir]);
    assert.equal(code, 1);
    assert.equal(stderr.trim().split('\n').length, 1, stderr);
    assert.match(stderr, new RegExp(`^error: disk full \\(ENOSPC\\) while unpacking ${archive} into ${dataDir}/${DATASET_DIR}; nothing was kept; free some space and try again\\n$`));
    await assert.rejects(stat(dataDir), { code: 'ENOENT' });
    assert.deepEqual(await readdir(fs.dir), []);
  } finally {
    await fs.unmount();
  }
});

test('a checkpoint_dir on a read-only file system (tmpfs): one line naming it, exit 1', async (t) => {
  const fs = await smallTmpfs('64k', ['ro']);
  if (!fs) return t.skip('cannot mount a tmpfs here (needs root)');
  try {
    const runs = join(fs.dir, 'runs');
    const train = vit(['train', '--config', 'configs/smoke.json', '--set', `checkpoint_dir=${runs}`, '--data-dir', root]);
    assert.equal(train.code, 1);
    assert.equal(train.stderr, `error: read-only file system (EROFS) (mkdir ${runs}); use a writable directory and run the command again\n`);
  } finally {
    await fs.unmount();
  }
});
