import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadCifar10, META_FILE, RECORD_BYTES, TEST_FILE, TRAIN_FILES } from '../src/data/cifar10.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { UserError } from '../src/errors.js';

let root: string;
let datasets = 0;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-loader-'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A fresh valid dataset of 3 records per file, for a test to modify. */
function freshDataset(): Promise<string> {
  return writeSyntheticCifar10(join(root, `set-${datasets++}`), { perBatch: 3, seed: 5 });
}

test('records become labels and NHWC pixels (planes R, G, B interleaved per pixel)', async () => {
  const dir = await freshDataset();
  const record = new Uint8Array(RECORD_BYTES);
  record[0] = 7;
  for (let p = 0; p < 1024; p++) {
    record[1 + p] = p % 256; // red
    record[1 + 1024 + p] = (p * 3) % 256; // green
    record[1 + 2048 + p] = 255 - (p % 256); // blue
  }
  await writeFile(join(dir, TEST_FILE), Buffer.concat([record, record, record]));
  const { test: split } = await loadCifar10(dir);
  assert.equal(split.count, 3);
  assert.deepEqual([...split.labels], [7, 7, 7]);
  for (const [y, x] of [[0, 0], [0, 1], [1, 0], [5, 17], [31, 31]]) {
    const p = y * 32 + x;
    const at = (2 * 1024 + p) * 3; // third image
    assert.deepEqual([...split.images.subarray(at, at + 3)], [p % 256, (p * 3) % 256, 255 - (p % 256)], `pixel (${y}, ${x})`);
  }
});

test('the train split is the five data batches in order; classes come from the meta file', async () => {
  const dir = await freshDataset();
  const data = await loadCifar10(dir);
  const files = await Promise.all(TRAIN_FILES.map((f) => readFile(join(dir, f))));
  const expected = files.flatMap((bytes) => [0, 1, 2].map((r) => bytes[r * RECORD_BYTES]));
  assert.equal(data.train.count, 15);
  assert.equal(data.train.images.length, 15 * 3072);
  assert.deepEqual([...data.train.labels], expected);
  assert.deepEqual(data.classes, ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']);
});

/** Loading `dir` must fail with a UserError whose message matches `message` (which names the file). */
async function assertLoadFails(dir: string, message: RegExp): Promise<void> {
  await assert.rejects(loadCifar10(dir), (err: unknown) => {
    assert.ok(err instanceof UserError, String(err));
    assert.match(err.message, message);
    return true;
  });
}

test('a truncated file is named with its size', async () => {
  const dir = await freshDataset();
  await truncate(join(dir, 'data_batch_2.bin'), 2 * RECORD_BYTES + 100);
  await assertLoadFails(dir, /data_batch_2\.bin: size 6246 bytes is not a multiple of the 3073-byte CIFAR-10 record/);
});

test('a label byte outside 0-9 is named with its record index', async () => {
  const dir = await freshDataset();
  const path = join(dir, 'data_batch_4.bin');
  const bytes = await readFile(path);
  bytes[1 * RECORD_BYTES] = 10;
  await writeFile(path, bytes);
  await assertLoadFails(dir, /data_batch_4\.bin: record 1 has label 10, expected 0-9/);
});

test('a missing file says how to get the dataset', async () => {
  const dir = await freshDataset();
  await unlink(join(dir, TEST_FILE));
  await assertLoadFails(dir, /test_batch\.bin: file not found \(run `vit data download`/);
});

test('files with different record counts are rejected', async () => {
  const dir = await freshDataset();
  await truncate(join(dir, 'data_batch_3.bin'), 2 * RECORD_BYTES);
  await assertLoadFails(dir, /data_batch_3\.bin: has 2 records but .*data_batch_1\.bin has 3; all five data batches and test_batch\.bin must have the same number/);
  const other = await freshDataset();
  await writeFile(join(other, TEST_FILE), '');
  await assertLoadFails(other, /test_batch\.bin: file is empty/);
});

test('a meta file without exactly 10 class names is rejected', async () => {
  const dir = await freshDataset();
  await writeFile(join(dir, META_FILE), 'cat\ndog\n\n');
  await assertLoadFails(dir, /batches\.meta\.txt: expected 10 class names, one per line, found 2/);
});
