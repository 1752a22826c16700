import { XMLValidator } from 'fast-xml-parser';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import sharp from 'sharp';
import { readMetrics } from '../src/train/metrics-csv.js';
import { valAccuracyChart } from '../src/viz/terminal-chart.js';
import { vit } from './helpers/cli.js';
import { tinyTrainedRun } from './helpers/tiny-run.js';

let root: string;
let dataDir: string;
let runDir: string;

before(async () => {
  ({ root, dataDir, runDir } = await tinyTrainedRun('vit-plots-'));
});

/** Decodes a PNG and checks its size range and that it is a picture, not one flat colour. */
async function assertPicture(file: string, minWidth: number, minHeight: number) {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.equal((await sharp(file).metadata()).format, 'png');
  assert.ok(info.width >= minWidth && info.height >= minHeight, `${file} is ${info.width}×${info.height}`);
  const colours = new Set<number>();
  for (let i = 0; i < data.length; i += info.channels) colours.add((data[i] << 16) | (data[i + 1] << 8) | data[i + 2]);
  assert.ok(colours.size > 20, `${file} has only ${colours.size} colours`);
  const dark = Array.from({ length: data.length / info.channels }, (_, i) => data[i * info.channels]).filter((v) => v < 100).length;
  assert.ok(dark > 200, `${file} has almost no dark pixels (no text or lines)`);
  return info;
}

test('vit plot draws one run and several overlaid, as PNG and as SVG that parses as XML', async () => {
  const png = join(root, 'curves.png');
  const one = vit(['plot', runDir, '--out', png]);
  assert.equal(one.code, 0, one.stderr);
  await assertPicture(png, 800, 250);

  const svg = join(root, 'compare.svg');
  const two = vit(['plot', runDir, root, '--out', svg]);
  assert.equal(two.code, 1, 'a directory without metrics.csv is an error');
  assert.match(two.stderr, /metrics\.csv: not found/);
  assert.equal(two.stderr.trim().split('\n').length, 1);

  const copy = join(root, 'copy');
  const rows = await readFile(join(runDir, 'metrics.csv'), 'utf8');
  await mkdir(copy);
  await writeFile(join(copy, 'metrics.csv'), rows);
  const ok = vit(['plot', runDir, copy, '--out', svg]);
  assert.equal(ok.code, 0, ok.stderr);
  const text = await readFile(svg, 'utf8');
  assert.equal(XMLValidator.validate(text), true);
  assert.match(text, /^<svg/);
  for (const label of ['tiny', 'copy', 'train', 'val', 'loss', 'accuracy', 'learning rate', 'epoch']) assert.ok(text.includes(`>${label}<`), `legend or axis "${label}"`);
});

test('vit plot refuses an output it cannot write, before drawing anything', () => {
  const run = vit(['plot', runDir, '--out', join(root, 'curves.gif')]);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /curves\.gif: expected a file ending in \.png or \.svg/);
});

test('vit eval --plot draws the confusion matrix heatmap', async () => {
  const png = join(root, 'confusion.png');
  const run = vit(['eval', '--checkpoint', join(runDir, 'best'), '--data-dir', dataDir, '--backend', 'cpu', '--plot', png]);
  assert.equal(run.code, 0, run.stderr);
  await assertPicture(png, 500, 500);
  const svg = join(root, 'confusion.svg');
  assert.equal(vit(['eval', '--checkpoint', join(runDir, 'best'), '--data-dir', dataDir, '--backend', 'cpu', '--plot', svg]).code, 0);
  const text = await readFile(svg, 'utf8');
  assert.equal(XMLValidator.validate(text), true);
  assert.ok(text.includes('>airplane ('), 'rows carry per-class accuracy');
});

test('vit train keeps curves.png in the run directory current after every epoch', async () => {
  const config = join(root, 'train.json');
  await writeFile(
    config,
    JSON.stringify({
      run_name: 'curves',
      checkpoint_dir: root,
      data: { limit_train: 64, limit_test: 20 },
      model: { dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
      train: { epochs: 2, batch_size: 32, eval_batch_size: 20 },
    }),
  );
  const run = vit(['train', '--config', config, '--data-dir', dataDir, '--backend', 'cpu']);
  assert.equal(run.code, 0, run.stderr);
  assert.ok(existsSync(join(root, 'curves', 'curves.png')));
  await assertPicture(join(root, 'curves', 'curves.png'), 800, 250);
  assert.doesNotMatch(run.stdout, /val accuracy/, 'no terminal chart when stdout is not a terminal');
});

test('the terminal chart has one column per epoch and the accuracy range on its axis', async () => {
  const rows = await readMetrics(join(runDir, 'metrics.csv'));
  const epochs = [0.2, 0.35, 0.5, 0.45].map((val_acc, i) => ({ ...rows[0], epoch: i + 1, val_acc }));
  const chart = valAccuracyChart(epochs, 6);
  const lines = chart.split('\n');
  assert.equal(lines[0], 'val accuracy');
  assert.equal(lines.length, 1 + 7 + 1);
  assert.match(lines[1], /50\.0%/);
  assert.match(lines[7], /20\.0%/);
  assert.match(lines[8], /epoch 1 +4$/);
  assert.equal(valAccuracyChart(epochs.slice(0, 1)), '');
});
