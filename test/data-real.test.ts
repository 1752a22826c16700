import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { classCounts, DATASET_FILES, loadCifar10, TEST_FILE, TRAIN_FILES } from '../src/data/cifar10.js';
import { downloadDataset } from '../src/data/download.js';

// The shared mirror of the real archive (see ../shared/cifar10/README.md); 173 MB, unpacked once.
const ARCHIVE = join('..', 'shared', 'cifar10', 'cifar-10-binary.tar.gz');
const ARCHIVE_MD5 = 'fbab889ccb056eb351bc3399edab6335';
const skip = existsSync(ARCHIVE) ? false : `${ARCHIVE} is not here`;

let root: string;
let batchesDir: string;

before(async () => {
  if (skip) return;
  root = await mkdtemp(join(tmpdir(), 'vit-real-'));
  ({ path: batchesDir } = await downloadDataset(root, { source: ARCHIVE, md5: ARCHIVE_MD5, force: false }));
});

after(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

test('the real archive installs as 5 data batches, the test batch and the meta file', { skip }, async () => {
  assert.deepEqual((await readdir(batchesDir)).sort(), [...DATASET_FILES].sort());
  for (const file of [...TRAIN_FILES, TEST_FILE]) assert.equal((await stat(join(batchesDir, file))).size, 10_000 * 3073, file);
});

test('the real dataset loads: 50,000 / 10,000 images, 10 classes, 1,000 per class in test', { skip }, async () => {
  const data = await loadCifar10(batchesDir);
  assert.equal(data.train.count, 50_000);
  assert.equal(data.test.count, 10_000);
  assert.deepEqual(data.classes, ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
  assert.deepEqual(classCounts(data.train), new Array(10).fill(5_000));
  assert.deepEqual(classCounts(data.test), new Array(10).fill(1_000));
});
