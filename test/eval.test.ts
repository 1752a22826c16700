import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { ConfigSchema } from '../src/config/schema.js';
import { type Cifar10, loadCifar10 } from '../src/data/cifar10.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { readMetrics } from '../src/train/metrics-csv.js';
import { createRunDir } from '../src/train/run-dir.js';
import { train as trainRun } from '../src/train/trainer.js';
import { vit } from './helpers/cli.js';

let root: string;
let dataDir: string;
let runDir: string;

/** A tiny trained run on the synthetic set, to evaluate. */
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-eval-'));
  dataDir = join(root, 'data');
  const data = await loadCifar10(await writeSyntheticCifar10(dataDir, { perBatch: 40, seed: 1 }));
  await tf.setBackend('cpu');
  runDir = await trainTiny('tiny', data);
});

/** Trains a tiny ViT for 2 epochs on the synthetic set into `<root>/<name>`; `train` adds keys. */
async function trainTiny(name: string, data: Cifar10, train: object = {}): Promise<string> {
  const config = ConfigSchema.parse({
    run_name: name,
    checkpoint_dir: root,
    data: { limit_train: 96, limit_test: 30 },
    model: { dim: 16, depth: 1, heads: 2, dim_head: 8, mlp_dim: 32, patch_size: 8 },
    optimizer: { lr: 1e-2 },
    train: { epochs: 2, batch_size: 32, eval_batch_size: 40, ...train },
  });
  const dir = await createRunDir(root, name);
  await trainRun({ config, data, runDir: dir, backend: 'cpu' });
  return dir;
}

function evalJson(checkpoint: string, ...flags: string[]) {
  const run = vit(['eval', '--checkpoint', checkpoint, '--data-dir', dataDir, '--backend', 'cpu', '--json', ...flags]);
  assert.equal(run.code, 0, run.stderr);
  return JSON.parse(run.stdout);
}

test('eval of best/ reproduces the val accuracy recorded for it, with per-class accuracy and a confusion matrix', async () => {
  const rows = await readMetrics(join(runDir, 'metrics.csv'));
  const best = rows.reduce((a, b) => (b.val_acc > a.val_acc ? b : a));
  const result = evalJson(join(runDir, 'best'));
  assert.equal(result.images, 30);
  assert.ok(Math.abs(result.accuracy - best.val_acc) < 1e-6);
  assert.equal(Object.keys(result.per_class).length, 10);
  const confusion: number[][] = result.confusion;
  assert.equal(confusion.flat().reduce((a, b) => a + b, 0), 30);
  const diagonal = confusion.reduce((sum, row, i) => sum + row[i], 0);
  assert.ok(Math.abs(diagonal / 30 - result.accuracy) < 1e-9, 'the diagonal is the correct predictions');
});

test('--predictions writes index,label,prediction and the ten logits for every test image; the table mode prints the matrix', async () => {
  const file = join(root, 'predictions.csv');
  const run = vit(['eval', '--checkpoint', join(runDir, 'best'), '--data-dir', dataDir, '--backend', 'cpu', '--predictions', file]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /accuracy/);
  assert.match(run.stdout, /confusion matrix/);
  const lines = (await readFile(file, 'utf8')).trim().split('\n');
  assert.equal(lines[0], `index,label,prediction,${Array.from({ length: 10 }, (_, c) => `logit_${c}`).join(',')}`);
  assert.equal(lines.length, 31);
  const data = await loadCifar10(join(dataDir, 'cifar-10-batches-bin'));
  let correct = 0;
  lines.slice(1).forEach((line, i) => {
    const [index, label, prediction, ...logits] = line.split(',').map(Number);
    assert.equal(index, i);
    assert.equal(label, data.test.labels[i]);
    assert.equal(logits.length, 10);
    assert.ok(logits.every(Number.isFinite));
    assert.equal(prediction, logits.indexOf(Math.max(...logits)), `image ${i}: the prediction is the largest logit`);
    if (prediction === label) correct++;
  });
  const json = vit(['eval', '--checkpoint', join(runDir, 'best'), '--data-dir', dataDir, '--backend', 'cpu', '--json']);
  assert.equal(JSON.parse(json.stdout).accuracy, correct / 30, 'the logits give the accuracy eval reports');
});

test('a missing, corrupt or incompatible checkpoint is one clear error line', async () => {
  const fails = (checkpoint: string, pattern: RegExp) => {
    const run = vit(['eval', '--checkpoint', checkpoint, '--data-dir', dataDir, '--backend', 'cpu']);
    assert.equal(run.code, 1);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, pattern);
  };
  fails(join(root, 'nowhere'), /not a checkpoint directory/);

  // Copies of last/ to break, so that best/ stays intact for the other tests.
  const corrupt = join(root, 'corrupt');
  const incompatible = join(root, 'incompatible');
  for (const dir of [corrupt, incompatible]) await cp(join(runDir, 'last'), dir, { recursive: true });
  await truncate(join(corrupt, 'weights.safetensors'), 100);
  fails(corrupt, /weights\.safetensors/);

  const config = JSON.parse(await readFile(join(incompatible, 'config.json'), 'utf8'));
  config.model.dim = 24;
  await writeFile(join(incompatible, 'config.json'), JSON.stringify(config));
  fails(incompatible, /shape .* expects/);
});


test("flip TTA: --tta overrides the run's train.eval_tta, and a run trained with it records the val accuracy vit eval reproduces", async () => {
  const plain = evalJson(join(runDir, 'best'));
  const flipped = evalJson(join(runDir, 'best'), '--tta', 'flip');
  assert.equal(plain.tta, 'none');
  assert.equal(flipped.tta, 'flip');
  assert.equal(flipped.images, 30);
  assert.equal(evalJson(join(runDir, 'best'), '--tta', 'flip_translate').tta, 'flip_translate');
  const bad = vit(['eval', '--checkpoint', join(runDir, 'best'), '--data-dir', dataDir, '--backend', 'cpu', '--tta', 'crop']);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /--tta.*crop.*none.*flip.*flip_translate/);

  const ttaRun = await trainTiny('tta', await loadCifar10(join(dataDir, 'cifar-10-batches-bin')), { eval_tta: 'flip' });
  const rows = await readMetrics(join(ttaRun, 'metrics.csv'));
  const best = rows.reduce((a, b) => (b.val_acc > a.val_acc ? b : a));
  const result = evalJson(join(ttaRun, 'best'));
  assert.equal(result.tta, 'flip', "vit eval defaults to the run's eval_tta");
  assert.ok(Math.abs(result.accuracy - best.val_acc) < 1e-6);
  assert.ok(Math.abs(result.loss - best.val_loss) < 1e-5);
});

test("train.test_tta: vit eval tests with it by default while the run validated with eval_tta; --tta still overrides", async () => {
  const run = await trainTiny('test-tta', await loadCifar10(join(dataDir, 'cifar-10-batches-bin')), { eval_tta: 'flip', test_tta: 'flip_translate' });
  assert.equal(evalJson(join(run, 'best')).tta, 'flip_translate');
  assert.equal(evalJson(join(run, 'best'), '--tta', 'none').tta, 'none');
});
