import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readFile, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, afterEach, before, mock, test } from 'node:test';
import * as tar from 'tar';
import { dataCommand } from '../src/cli/data.js';
import { loadConfig, parseConfig } from '../src/config/load.js';
import { trainAugmentations, trainBatches } from '../src/data/batches.js';
import { IMAGE_BYTES, loadDataset } from '../src/data/cifar10.js';
import { CIFAR100, classNamesForCount, classNamesOf, datasetFiles } from '../src/data/datasets.js';
import { downloadDataset } from '../src/data/download.js';
import { writeSyntheticCifar100 } from '../src/data/synthetic.js';
import { Rng } from '../src/util/rng.js';
import { confusionSpec } from '../src/viz/confusion-heatmap.js';
import { writePng } from '../src/viz/image-io.js';
import { vit } from './helpers/cli.js';
import { writeSyntheticArchive } from './fixtures/synthetic-archive.js';

/**
 * CIFAR-100 (data.dataset 'cifar100') end to end on a small file in its exact binary format: no
 * copy of the real archive can be fetched here, so the archive is built from synthetic records
 * with the real member names (cifar-100-binary/train.bin, test.bin, coarse_label_names.txt,
 * fine_label_names.txt), each record a coarse label byte, a fine label byte and 3,072 image bytes.
 */

const TRAIN = 300;
const TEST = 100;
const RECORD = 2 + IMAGE_BYTES;

let root: string;
let staged: string;
let archive: { path: string; md5: string };

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-cifar100-'));
  const staging = join(root, 'staging');
  staged = await writeSyntheticCifar100(staging, { train: TRAIN, test: TEST, seed: 3 });
  const path = join(root, 'cifar-100-binary.tar.gz');
  await tar.c({ gzip: true, file: path, cwd: staging }, [CIFAR100.dir]);
  archive = { path, md5: createHash('md5').update(await readFile(path)).digest('hex') };
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

afterEach(() => {
  mock.restoreAll();
  process.exitCode = undefined;
});

let dirs = 0;
async function freshDir(): Promise<string> {
  const dir = join(root, `d${dirs++}`);
  await mkdir(dir);
  return dir;
}

/** Runs `vit data ARGS` in this process, returning what it printed. */
async function runData(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const stdout: string[] = [], stderr: string[] = [];
  mock.method(console, 'log', (line: string) => stdout.push(line));
  mock.method(process.stderr, 'write', (text: string) => stderr.push(text) > 0);
  await dataCommand().parseAsync(args, { from: 'user' });
  mock.restoreAll();
  return { stdout: stdout.join('\n'), stderr: stderr.join('') };
}

test('the dataset description has the official archive, its md5 and the binary layout', () => {
  assert.equal(CIFAR100.url, 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz');
  assert.equal(CIFAR100.md5, '03b5dce01913d631647c71ecec9e9cb8');
  assert.deepEqual(datasetFiles(CIFAR100), ['train.bin', 'test.bin', 'coarse_label_names.txt', 'fine_label_names.txt']);
  assert.equal(CIFAR100.labels.coarse!.offset, 0);
  assert.equal(CIFAR100.labels.fine!.offset, 1);
  assert.equal(CIFAR100.labels.fine!.names.length, 100);
  assert.equal(CIFAR100.labels.coarse!.names.length, 20);
  assert.equal(new Set(CIFAR100.labels.fine!.names).size, 100);
  assert.deepEqual([CIFAR100.labels.fine!.names[0], CIFAR100.labels.fine!.names[99]], ['apple', 'worm']);
  assert.deepEqual([CIFAR100.labels.coarse!.names[0], CIFAR100.labels.coarse!.names[19]], ['aquatic_mammals', 'vehicles_2']);
});

test('the synthetic archive has the real member names', async () => {
  const members: string[] = [];
  await tar.t({ file: archive.path, onReadEntry: (entry) => members.push(entry.path) });
  assert.deepEqual(members.filter((m) => !m.endsWith('/')).sort(), datasetFiles(CIFAR100).map((f) => `${CIFAR100.dir}/${f}`).sort());
});

test('the loader reads fine labels (byte 1) or coarse labels (byte 0), and the planes after both as NHWC', async () => {
  const raw = await readFile(join(staged, 'train.bin'));
  const fine = await loadDataset(staged, { dataset: 'cifar100', labels: 'fine' });
  assert.equal(fine.train.count, TRAIN);
  assert.equal(fine.test.count, TEST);
  assert.deepEqual(fine.classes, CIFAR100.labels.fine!.names);
  for (const r of [0, 1, 137, TRAIN - 1]) {
    assert.equal(fine.train.labels[r], raw[r * RECORD + 1]);
    for (const p of [0, 5, 1023]) {
      for (let c = 0; c < 3; c++) assert.equal(fine.train.images[r * IMAGE_BYTES + p * 3 + c], raw[r * RECORD + 2 + c * 1024 + p]);
    }
  }
  assert.deepEqual(new Set(fine.train.labels).size, 100, 'the fine labels go round all 100 classes');

  const coarse = await loadDataset(staged, { dataset: 'cifar100', labels: 'coarse' });
  assert.deepEqual(coarse.classes, CIFAR100.labels.coarse!.names);
  assert.deepEqual(coarse.train.images, fine.train.images);
  for (let r = 0; r < TRAIN; r++) assert.equal(coarse.train.labels[r], raw[r * RECORD]);
  assert.ok(coarse.train.labels.some((label, r) => label !== fine.train.labels[r]));
  assert.ok(Math.max(...coarse.train.labels) < 20);
});

test('bad files are one-line errors that name the file and the CIFAR-100 record', async () => {
  const dir = join(await freshDir(), CIFAR100.dir);
  await writeSyntheticCifar100(dirname(dir), { train: 10, test: 5, seed: 1 });
  await truncate(join(dir, 'test.bin'), 4 * RECORD + 7);
  await assert.rejects(loadDataset(dir, { dataset: 'cifar100', labels: 'fine' }), /test\.bin: size 12303 bytes is not a multiple of the 3074-byte CIFAR-100 record/);

  await writeSyntheticCifar100(dirname(dir), { train: 10, test: 5, seed: 1 });
  const train = await readFile(join(dir, 'train.bin'));
  train[3 * RECORD + 1] = 100;
  await writeFile(join(dir, 'train.bin'), train);
  await assert.rejects(loadDataset(dir, { dataset: 'cifar100', labels: 'fine' }), /train\.bin: record 3 has label 100, expected 0-99/);

  await writeFile(join(dir, 'coarse_label_names.txt'), 'a\nb\n');
  await assert.rejects(loadDataset(dir, { dataset: 'cifar100', labels: 'coarse' }), /coarse_label_names\.txt: expected 20 class names, one per line, found 2/);
  await assert.rejects(
    loadDataset(join(root, 'nowhere'), { dataset: 'cifar100', labels: 'fine' }),
    /fine_label_names\.txt: file not found \(run `vit data download --dataset cifar100` to fetch CIFAR-100\)/,
  );
});

test('`vit data download --dataset cifar100 --source FILE` checks the official md5, and unpacks with --md5', async () => {
  const dataDir = await freshDir();
  const refused = await runData('download', '--dataset', 'cifar100', '--source', archive.path, '--data-dir', dataDir);
  assert.match(refused.stderr, new RegExp(`md5 is ${archive.md5}, expected 03b5dce01913d631647c71ecec9e9cb8; if you trust this archive \\(e\\.g\\. a mirror\\), pass its checksum with --md5 ${archive.md5}`));
  assert.equal(process.exitCode, 1);
  assert.deepEqual(await readdir(dataDir), [], 'nothing was kept');
  process.exitCode = undefined;

  const { stdout } = await runData('download', '--dataset', 'cifar100', '--source', archive.path, '--md5', archive.md5, '--data-dir', dataDir);
  assert.equal(stdout, `CIFAR-100 is ready in ${join(dataDir, CIFAR100.dir)}`);
  for (const file of datasetFiles(CIFAR100)) {
    assert.deepEqual(await readFile(join(dataDir, CIFAR100.dir, file)), await readFile(join(staged, file)), file);
  }
  const again = await runData('download', '--dataset', 'cifar100', '--data-dir', dataDir);
  assert.match(again.stdout, /^CIFAR-100 is already in .*cifar-100-binary \(--force downloads it again\)$/);

  const info = await runData('info', '--dataset', 'cifar100', '--labels', 'coarse', '--data-dir', dataDir);
  const lines = info.stdout.split('\n');
  assert.equal(lines[0], `CIFAR-100 (coarse labels) in ${join(dataDir, CIFAR100.dir)}`);
  assert.equal(lines.length, 1 + 1 + 20 + 1);
  assert.deepEqual(lines[2].split(/\s+/), ['aquatic_mammals', '15', '5']);
  assert.deepEqual(lines.at(-1)!.split(/\s+/), ['total', String(TRAIN), String(TEST)]);
});

test('a CIFAR-10 archive given as CIFAR-100 is refused, naming what it lacks', async () => {
  const cifar10 = await writeSyntheticArchive(await freshDir());
  const dataDir = await freshDir();
  await assert.rejects(
    downloadDataset(dataDir, { source: cifar10.path, md5: cifar10.md5, force: false, dataset: CIFAR100 }),
    /the archive lacks cifar-100-binary\/train\.bin, cifar-100-binary\/test\.bin, .*; is it the CIFAR-100 binary version\?/,
  );
  assert.deepEqual(await readdir(dataDir), []);
});

test('over http: the archive is fetched and checked; an unreachable server names the offline way for CIFAR-100', async () => {
  const bytes = await readFile(archive.path);
  const server: Server = createServer((req, res) => res.writeHead(200, { 'content-length': bytes.length }).end(bytes));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/cifar-100-binary.tar.gz`;
    const dataDir = await freshDir();
    mock.method(process.stderr, 'write', () => true);
    const { path } = await downloadDataset(dataDir, { source: url, md5: archive.md5, force: false, dataset: CIFAR100 });
    assert.deepEqual(await readFile(join(path, 'train.bin')), await readFile(join(staged, 'train.bin')));
    await assert.rejects(
      downloadDataset(await freshDir(), { source: 'http://127.0.0.1:9/cifar-100-binary.tar.gz', md5: archive.md5, force: false, dataset: CIFAR100 }),
      /Get cifar-100-binary\.tar\.gz another way and run: vit data download --dataset cifar100 --source \/path\/to\/cifar-100-binary\.tar\.gz --md5 <hex>/,
    );
  } finally {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

test('model.num_classes follows data.dataset and data.labels; a disagreeing one is a one-line error naming both keys', async () => {
  assert.equal(parseConfig({}, 'c.json').model.num_classes, 10);
  assert.equal(parseConfig({ data: { dataset: 'cifar100' } }, 'c.json').model.num_classes, 100);
  assert.equal(parseConfig({ data: { dataset: 'cifar100', labels: 'coarse' } }, 'c.json').model.num_classes, 20);
  assert.equal(parseConfig({ data: { dataset: 'cifar100' }, model: { name: 'cct', num_classes: 100 } }, 'c.json').model.num_classes, 100);
  assert.throws(
    () => parseConfig({ data: { dataset: 'cifar100' }, model: { num_classes: 10 } }, 'c.json'),
    (err: Error) =>
      err.message === "c.json: model.num_classes: 10 disagrees with data.dataset 'cifar100' (CIFAR-100 (fine labels): 100 classes); set it to 100 or leave it out",
  );
  assert.throws(() => parseConfig({ data: { dataset: 'cifar100', labels: 'coarse' }, model: { num_classes: 100 } }, 'c.json'), /model\.num_classes: 100 disagrees with data\.dataset 'cifar100' with data\.labels 'coarse' \(CIFAR-100 \(coarse labels\): 20 classes\)/);
  assert.throws(() => parseConfig({ data: { labels: 'coarse' } }, 'c.json'), /c\.json: data\.labels: CIFAR-10 has only 'fine' labels/);
  // A resolved config parses again unchanged, a CIFAR-10 one with another num_classes too (it names data.dataset).
  const threeClasses = parseConfig({ model: { num_classes: 3 } }, 'c.json');
  assert.deepEqual(parseConfig(JSON.parse(JSON.stringify(threeClasses)), 'c.json'), threeClasses);
  const resolved = parseConfig({ data: { dataset: 'cifar100', labels: 'coarse' } }, 'c.json');
  assert.deepEqual(parseConfig(JSON.parse(JSON.stringify(resolved)), 'c.json'), resolved);
  // --set reaches the new keys, typed by the schema.
  const smoke = loadConfig('configs/smoke.json', ['data.dataset=cifar100', 'data.labels=coarse']);
  assert.deepEqual([smoke.data.dataset, smoke.data.labels, smoke.model.num_classes], ['cifar100', 'coarse', 20]);
});

test('class names follow the dataset when only the count or the config is known', () => {
  assert.deepEqual(classNamesForCount(100), CIFAR100.labels.fine!.names);
  assert.deepEqual(classNamesForCount(20), CIFAR100.labels.coarse!.names);
  assert.equal(classNamesForCount(10)[0], 'airplane');
  assert.deepEqual(classNamesForCount(3), ['class 0', 'class 1', 'class 2']);
  assert.deepEqual(classNamesOf({ dataset: 'cifar100', labels: 'coarse' }, 20), CIFAR100.labels.coarse!.names);
});

test('mixup/cutmix soft targets are as wide as the dataset has classes', async () => {
  const data = parseConfig({ data: { dataset: 'cifar100', mixup_alpha: 0.8, cutmix_alpha: 1 } }, 'c.json').data;
  const split = (await loadDataset(staged, data)).train;
  const options = trainAugmentations(data, 0.1);
  assert.equal(options.mix!.classes, 100);
  const batch = trainBatches(split, { ...options, batchSize: 8, rng: new Rng(1) }).next().value!;
  assert.equal(batch.targets!.length, 8 * 100);
  for (let i = 0; i < 8; i++) assert.ok(Math.abs(batch.targets!.subarray(i * 100, (i + 1) * 100).reduce((a: number, b: number) => a + b, 0) - 1) < 1e-5);
});

test('`vit train --set data.dataset=cifar100` trains a few steps; eval and predict name CIFAR-100 classes', async () => {
  const dataDir = await freshDir();
  await writeSyntheticCifar100(dataDir, { train: 64, test: 32, seed: 2 });
  const runs = await freshDir();
  const sets = ['data.dataset=cifar100', 'data.limit_train=64', 'data.limit_test=32', 'train.epochs=1', 'train.batch_size=32', `checkpoint_dir=${runs}`];
  const trained = vit(['train', '--config', 'configs/smoke.json', ...sets.flatMap((s) => ['--set', s]), '--data-dir', dataDir, '--backend', 'cpu']);
  assert.equal(trained.code, 0, trained.stderr);
  const best = join(runs, 'smoke', 'best');
  const config = JSON.parse(await readFile(join(runs, 'smoke', 'config.json'), 'utf8'));
  assert.deepEqual([config.data.dataset, config.data.labels, config.model.num_classes], ['cifar100', 'fine', 100]);

  const evaluated = vit(['eval', '--checkpoint', best, '--data-dir', dataDir, '--backend', 'cpu', '--json']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const report = JSON.parse(evaluated.stdout) as { images: number; classes: string[]; confusion: number[][]; per_class: Record<string, number> };
  assert.equal(report.images, 32);
  assert.deepEqual(report.classes, CIFAR100.labels.fine!.names);
  assert.equal(report.confusion.length, 100);
  assert.ok('sweet_pepper' in report.per_class);
  const table = vit(['eval', '--checkpoint', best, '--data-dir', dataDir, '--backend', 'cpu']);
  assert.equal(table.code, 0, table.stderr);
  assert.match(table.stdout, /per class \(accuracy, most often predicted instead\)/);
  assert.match(table.stdout, /^ *aquarium_fish +\d+\.\d\d% {2}\S/m);
  assert.match(table.stdout, /^ +worm +no images +-$/m); // the 32 test images are fine labels 0-31

  const image = join(runs, 'image.png');
  const test = await loadDataset(join(dataDir, CIFAR100.dir), { dataset: 'cifar100', labels: 'fine' });
  await writePng(image, { width: 32, height: 32, pixels: test.test.images.subarray(0, IMAGE_BYTES) });
  const predicted = vit(['predict', '--checkpoint', best, '--backend', 'cpu', '--json', image]);
  assert.equal(predicted.code, 0, predicted.stderr);
  const [result] = JSON.parse(predicted.stdout) as { top: { label: string; index: number }[] }[];
  assert.ok(result.top.length > 0);
  for (const { label, index } of result.top) assert.equal(label, CIFAR100.labels.fine!.names[index]);
});

test('the confusion heatmap draws 100 classes densely (no counts), 20 or fewer with counts', () => {
  const matrix = (n: number) => Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => Number(i === j)));
  const spec = (names: string[]) => confusionSpec(matrix(names.length), names, names.map(() => 1), 1, 't') as unknown as { width: number; layer: unknown[] };
  const fine = spec([...CIFAR100.labels.fine!.names]);
  assert.deepEqual([fine.width, fine.layer.length], [1400, 1]);
  const coarse = spec([...CIFAR100.labels.coarse!.names]);
  assert.deepEqual([coarse.width, coarse.layer.length], [720, 2]);
});
