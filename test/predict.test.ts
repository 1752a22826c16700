import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { IMAGE_BYTES, loadCifar10, type Split } from '../src/data/cifar10.js';
import { readImageRgb, writePng } from '../src/viz/image-io.js';
import { vit } from './helpers/cli.js';
import { tinyTrainedRun } from './helpers/tiny-run.js';

const REAL_DATA = 'data';
const realSkip = existsSync(join(REAL_DATA, 'cifar-10-batches-bin', 'test_batch.bin')) ? false : 'the real CIFAR-10 is not in data/';

let root: string;
let dataDir: string;
let best: string;

before(async () => {
  const run = await tinyTrainedRun('vit-predict-');
  ({ root, dataDir } = run);
  best = join(run.runDir, 'best');
});

/** PNG copies of the first `count` test images. */
async function pngCopies(split: Split, count: number, dir: string): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = join(root, `${dir}-${i}.png`);
    await writePng(file, { width: 32, height: 32, pixels: split.images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES) });
    files.push(file);
  }
  return files;
}

function predictJson(files: string[], extra: string[] = []) {
  const run = vit(['predict', '--checkpoint', best, '--backend', 'cpu', '--json', ...extra, ...files]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout) as { file: string; top: { label: string; index: number; probability: number }[] }[];
}

/** vit eval --predictions on the first `count` test images of `dir`'s dataset. */
async function evalPredictions(dir: string, count: number): Promise<number[]> {
  const csv = join(root, `predictions-${count}.csv`);
  const run = vit(['eval', '--checkpoint', best, '--data-dir', dir, '--backend', 'cpu', '--predictions', csv]);
  assert.equal(run.code, 0, run.stderr);
  return (await readFile(csv, 'utf8')).trim().split('\n').slice(1, count + 1).map((line) => Number(line.split(',')[2]));
}

async function assertAgreesWithEval(dir: string, name: string) {
  const data = await loadCifar10(join(dir, 'cifar-10-batches-bin'));
  const files = await pngCopies(data.test, 30, name);
  const decoded = await readImageRgb(files[7], 32);
  assert.deepEqual(decoded.pixels, data.test.images.subarray(7 * IMAGE_BYTES, 8 * IMAGE_BYTES), 'a 32×32 PNG decodes to its exact bytes');
  const predicted = predictJson(files).map((r) => r.top[0].index);
  assert.deepEqual(predicted, await evalPredictions(dir, 30));
  return predicted;
}

test('predict on PNG copies of synthetic test images gives exactly the classes eval --predictions gives', async () => {
  const predicted = await assertAgreesWithEval(dataDir, 'synthetic');
  assert.ok(new Set(predicted).size > 1, 'the model tells classes apart, so agreement means something');
});

test('predict on PNG copies of real CIFAR-10 test images gives exactly the classes eval --predictions gives', { skip: realSkip }, async () => {
  await assertAgreesWithEval(REAL_DATA, 'real');
});

test('--json: per image its file and the top k classes, best first, with probabilities; any size, alpha, greyscale, JPEG', async () => {
  const rgba = join(root, 'large-rgba.png');
  const grey = join(root, 'grey.jpg');
  await sharp({ create: { width: 200, height: 120, channels: 4, background: { r: 200, g: 40, b: 40, alpha: 0.5 } } }).png().toFile(rgba);
  await sharp({ create: { width: 50, height: 64, channels: 3, background: '#808080' } }).greyscale().jpeg().toFile(grey);
  const results = predictJson([rgba, grey], ['--top', '4']);
  assert.deepEqual(results.map((r) => r.file), [rgba, grey]);
  for (const { top } of results) {
    assert.equal(top.length, 4);
    for (const guess of top) {
      assert.ok(guess.index >= 0 && guess.index < 10);
      assert.ok(guess.probability > 0 && guess.probability < 1);
      assert.equal(typeof guess.label, 'string');
    }
    for (let i = 1; i < top.length; i++) assert.ok(top[i - 1].probability >= top[i].probability, 'best first');
  }
  const image = await readImageRgb(rgba, 32);
  assert.deepEqual([image.width, image.height, image.pixels.length], [32, 32, 32 * 32 * 3]);
  // Half-transparent red over white: the red channel stays high, green and blue are lifted.
  assert.ok(image.pixels[0] > 200 && image.pixels[1] > 120 && image.pixels[1] < 170, `${image.pixels.subarray(0, 3)}`);
});

test('the table lists each file with its top classes', async () => {
  const [file] = await pngCopies((await loadCifar10(join(dataDir, 'cifar-10-batches-bin'))).test, 1, 'table');
  const run = vit(['predict', '--checkpoint', best, '--backend', 'cpu', file]);
  assert.equal(run.code, 0, run.stderr);
  const lines = run.stdout.trim().split('\n');
  assert.match(lines[0], /^file\s+#1\s+#2\s+#3$/);
  assert.match(lines[1], new RegExp(`^${file}\\s+\\w+ \\d+\\.\\d%\\s+\\w+ \\d+\\.\\d%\\s+\\w+ \\d+\\.\\d%$`));
});

test('an unreadable, corrupt or missing image is one error line naming the file, and a non-zero exit', async () => {
  const text = join(root, 'notes.png');
  await writeFile(text, 'not an image\n');
  const truncated = join(root, 'truncated.png');
  const [good] = await pngCopies((await loadCifar10(join(dataDir, 'cifar-10-batches-bin'))).test, 1, 'whole');
  await writeFile(truncated, (await readFile(good)).subarray(0, 60));
  for (const bad of [text, truncated, join(root, 'missing.jpg')]) {
    const run = vit(['predict', '--checkpoint', best, '--backend', 'cpu', good, bad]);
    assert.equal(run.code, 1, bad);
    assert.equal(run.stdout, '');
    const lines = run.stderr.trim().split('\n');
    assert.equal(lines.length, 1, run.stderr);
    assert.ok(lines[0].includes(bad), lines[0]);
  }
});
