import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';
import { restoreVariables } from '../src/checkpoint/weights.js';
import { importWeights } from '../src/cli/import.js';
import { type Config, ConfigSchema } from '../src/config/schema.js';
import { IMAGE_BYTES, loadCifar10 } from '../src/data/cifar10.js';
import { normalizationOf } from '../src/data/normalize.js';
import { UserError } from '../src/errors.js';
import { familyOf } from '../src/families/index.js';
import { initParams } from '../src/model/index.js';
import { evaluate } from '../src/train/evaluate.js';
import { Optimizer } from '../src/train/optimizer.js';
import { trainStep } from '../src/train/train-step.js';
import { vit } from './helpers/cli.js';
import { realCifar10DataDir } from './helpers/real-cifar.js';

/**
 * `.pth` files as PyTorch writes them (bench/kentaroy47_reference.py: the ConvMixer and ResNet
 * module trees of kentaroy47/vision-transformers-cifar10, saved by real torch.save in every form
 * users have) import with their logits, train like PyTorch's, and hostile files are refused.
 */
const REFERENCE = join(import.meta.dirname, '..', 'bench', 'kentaroy47_reference.py');
const IMAGES = 32;
/** kentaroy47's train_cifar10.py normalisation. */
const KENTAROY47_DATA = { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.2010] };

interface Expected {
  model: Record<string, unknown>;
  logits: number[][];
  state_dict_keys: string[];
  sgd: { lr: number; momentum: number; batch: number; losses: number[]; buffers_after_each_step: Record<string, number[] | number>[] };
}

let dir: string;
let fixtures = '';
let noTorch = '';
let expected: Record<string, Expected>;
let images: Uint8Array;
let labels: Uint8Array;

before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'vit-pth-'));
  // Real CIFAR-10 test images where this machine has them, else the synthetic set's.
  const dataDir = realCifar10DataDir(dir);
  const data = dataDir ? await loadCifar10(join(dataDir, 'cifar-10-batches-bin')) : null;
  images = data ? data.test.images.slice(0, IMAGES * IMAGE_BYTES) : Uint8Array.from({ length: IMAGES * IMAGE_BYTES }, (_, i) => (i * 37) % 256);
  labels = data ? data.test.labels.slice(0, IMAGES) : new Uint8Array(IMAGES);
  await writeFile(join(dir, 'images.bin'), images);
  const written = spawnSync('/usr/bin/python3', [REFERENCE, 'fixture', '--out-dir', join(dir, 'torch'), '--images', join(dir, 'images.bin'), '--count', String(IMAGES)], { encoding: 'utf8' });
  if (written.status === 0) {
    fixtures = join(dir, 'torch');
    expected = JSON.parse(await readFile(join(fixtures, 'expected.json'), 'utf8'));
  } else {
    noTorch = `PyTorch could not write the fixtures (/usr/bin/python3 with torch: apt-get install python3-torch): ${(written.stderr || String(written.error)).trim().split('\n').pop()}`;
  }
});
after(() => rm(dir, { recursive: true, force: true }));

function configFor(family: string, extra: Record<string, unknown> = {}): Config {
  // A model at another side than the images' 32 has them resized (data.resize), as the fixture does.
  return ConfigSchema.parse({ data: { ...KENTAROY47_DATA, resize: expected[family].model.image_size }, model: expected[family].model, ...extra });
}

/** The logits `vit eval` computes for the fixture's images from a checkpoint directory. */
async function evalLogits(checkpoint: string): Promise<number[][]> {
  const ckpt = await loadCheckpoint(checkpoint);
  const params = initParams(ckpt.config.model, 0);
  restoreVariables(params, ckpt.weights, checkpoint);
  const result = await evaluate(params, ckpt.config.model, { images, labels, count: IMAGES }, { batchSize: 16, normalization: normalizationOf(ckpt.config.data) });
  tf.dispose(Object.values(params));
  const classes = ckpt.config.model.num_classes;
  return Array.from({ length: IMAGES }, (_, i) => Array.from(result.logits.subarray(i * classes, (i + 1) * classes)));
}

/** max |Δ| over the logits, relative to their scale (the largest |logit|). */
function relativeError(actual: number[][], reference: number[][]): number {
  const scale = Math.max(...reference.flat().map(Math.abs));
  return Math.max(...actual.flat().map((v, i) => Math.abs(v - reference.flat()[i]))) / scale;
}

for (const family of ['convmixer', 'resnet', 'simplevit', 'mlpmixer', 'vit_small', 'cait', 'swin', 'mobilevit']) {
  test(`${family}: a state_dict saved by torch.save imports and gives PyTorch's logits on CIFAR-10 test images (eval mode, BatchNorm statistics random)`, async (t) => {
    if (noTorch) return t.skip(noTorch);
    const out = join(dir, `${family}-plain`);
    const said = await importWeights(join(fixtures, `${family}.pth`), configFor(family), out);
    assert.match(said, /^a state_dict, \d+ tensors/);
    const error = relativeError(await evalLogits(out), expected[family].logits);
    assert.ok(error <= 1e-4, `max |Δlogit| / scale = ${error}`);
  });

  test(`${family}: train_cifar10.py's {"net": …} .t7, nn.DataParallel's "module." keys and tensors saved on cuda:0 give the same weights`, async (t) => {
    if (noTorch) return t.skip(noTorch);
    const plain = (await loadCheckpoint(join(dir, `${family}-plain`)).catch(() => null)) ?? (await importPlain(family));
    const forms: [string, RegExp][] = [
      [`${family}-net.t7`, /the state_dict under 'net'/],
      [`${family}-dp.pth`, /the state_dict under 'model', nn\.DataParallel's 'module\.' prefix removed/],
      [`${family}-cuda.pth`, /^a state_dict/],
      [`${family}-double.pth`, /^a state_dict/],
    ];
    for (const [file, said] of forms) {
      const out = join(dir, file.replace(/\./g, '-'));
      assert.match(await importWeights(join(fixtures, file), configFor(family), out), said, file);
      const { weights } = await loadCheckpoint(out);
      for (const [name, a] of Object.entries(plain.weights)) {
        assert.ok(Buffer.from(weights[name].data.buffer).equals(Buffer.from(a.data.buffer)), `${file}: ${name} differs from the plain file's`);
      }
    }
  });

  test(`${family}: float16 and bfloat16 storages are read as float32, within their precision`, async (t) => {
    if (noTorch) return t.skip(noTorch);
    const plain = await loadCheckpoint(join(dir, `${family}-plain`)).catch(() => importPlain(family));
    for (const [tag, precision] of [['half', 2 ** -11], ['bf16', 2 ** -8]] as const) {
      const out = join(dir, `${family}-${tag}`);
      await importWeights(join(fixtures, `${family}-${tag}.pth`), configFor(family), out);
      const { weights } = await loadCheckpoint(out);
      for (const [name, a] of Object.entries(plain.weights)) {
        a.data.forEach((v, i) => assert.ok(Math.abs(weights[name].data[i] - v) <= precision * Math.abs(v) + 1e-7, `${tag} ${name}[${i}]: ${weights[name].data[i]} vs ${v}`));
      }
    }
  });

  test(`${family}: three SGD steps from PyTorch's initial weights give PyTorch's losses and BatchNorm buffers`, async (t) => {
    if (noTorch) return t.skip(noTorch);
    const { sgd } = expected[family];
    const config = configFor(family, { optimizer: { name: 'sgd', lr: sgd.lr, weight_decay: 0, sgd: { momentum: sgd.momentum, nesterov: false } } });
    const out = join(dir, `${family}-init`);
    await importWeights(join(fixtures, `${family}-init.pth`), config, out);
    const params = initParams(config.model, 0);
    restoreVariables(params, (await loadCheckpoint(out)).weights, out);
    const optimizer = Optimizer.forModel(params, config);
    const normalization = normalizationOf(config.data);
    const x = tf.tensor4d(Float32Array.from(images.subarray(0, sgd.batch * IMAGE_BYTES), (v, i) => normalization[(i % 3) * 256 + v]), [sgd.batch, 32, 32, 3]);
    const y = tf.tensor1d(Array.from({ length: sgd.batch }, (_, i) => i % 10), 'int32');
    // PyTorch's state_dict names → ours (the family's map, inverted).
    const ours = new Map(Object.keys(params).map((name) => [familyOf(config.model).pytorch.name(name, config.model), name]));
    const losses: number[] = [];
    const buffers: Record<string, number[]>[] = [];
    for (let step = 0; step < 4; step++) {
      losses.push((await trainStep(params, config.model, optimizer, { x, y }, { lr: sgd.lr, labelSmoothing: 0, seed: step + 1 })).loss);
      if (step < 3) buffers.push(Object.fromEntries(Object.keys(sgd.buffers_after_each_step[0]).map((name) => [name, Array.from(params[ours.get(name)!].dataSync())])));
    }
    tf.dispose([x, y, ...Object.values(params)]);
    optimizer.dispose();
    losses.forEach((loss, i) => assert.ok(Math.abs(loss - sgd.losses[i]) <= 1e-4, `loss ${i === 3 ? 'after the third step' : `at step ${i + 1}`}: ${loss}, PyTorch ${sgd.losses[i]}`));
    // The running statistics after each step: the same formula (momentum 0.1, unbiased variance) on the same batch statistics.
    sgd.buffers_after_each_step.forEach((theirs, step) => {
      for (const [name, values] of Object.entries(theirs)) {
        const mine = buffers[step][name];
        [values].flat().forEach((v, i) => assert.ok(Math.abs(mine[i] - v) <= 1e-4 * Math.max(1, Math.abs(v)), `after step ${step + 1}, ${name}[${i}]: ${mine[i]}, PyTorch ${v}`));
      }
    });
  });
}

async function importPlain(family: string) {
  const out = join(dir, `${family}-plain-again`);
  if (!existsSync(out)) await importWeights(join(fixtures, `${family}.pth`), configFor(family), out);
  return loadCheckpoint(out);
}

test('hostile and broken files are refused in one line, and nothing is written', async (t) => {
  if (noTorch) return t.skip(noTorch);
  const cases: [string, RegExp][] = [
    ['evil.pth', /refused to load the global posix\.system: .*like torch\.load\(weights_only=True\)/],
    ['truncated.pth', /not a complete zip archive/],
    ['short-storage.pth', /reads element \d+ of storage 0, which holds \d+: the file is truncated or corrupt/],
  ];
  for (const [file, message] of cases) {
    const out = join(dir, `never-${file}`);
    await assert.rejects(importWeights(join(fixtures, file), configFor('convmixer'), out), (err: Error) => err instanceof UserError && message.test(err.message) && !err.message.includes('\n'), file);
    assert.equal(existsSync(out), false, `${file}: nothing written`);
  }
  // The legacy (pre-1.6) format starts with a pickle, not a zip.
  await writeFile(join(dir, 'legacy.pth'), Buffer.from([0x80, 0x02, 0x8a, 0x0a]));
  await assert.rejects(importWeights(join(dir, 'legacy.pth'), configFor('convmixer'), join(dir, 'never-legacy')), /legacy torch\.save format of PyTorch < 1\.6/);
});

test('a state_dict for another model names the tensors that do not fit', async (t) => {
  if (noTorch) return t.skip(noTorch);
  const wrongDepth = configFor('convmixer', {});
  const deeper = ConfigSchema.parse({ data: KENTAROY47_DATA, model: { ...expected.convmixer.model, depth: 3 } });
  assert.ok(wrongDepth.model.name === 'convmixer');
  await assert.rejects(importWeights(join(fixtures, 'convmixer.pth'), deeper, join(dir, 'never-deeper')), /missing tensors 5\.0\.fn\.0\.weight, .*; unexpected tensors 7\.weight, 7\.bias \(not in the convmixer model/);
  await assert.rejects(importWeights(join(fixtures, 'resnet.pth'), configFor('convmixer'), join(dir, 'never-resnet')), /unexpected tensors conv1\.weight, .* \(not in the convmixer model of this config\)/);
});

test('vit import prints where it found the state_dict and writes a checkpoint vit eval reads', async (t) => {
  if (noTorch) return t.skip(noTorch);
  const config = join(dir, 'convmixer.json');
  await writeFile(config, JSON.stringify({ data: KENTAROY47_DATA, model: expected.convmixer.model }));
  const out = join(dir, 'cli-import');
  const run = vit(['import', '--weights', join(fixtures, 'convmixer-dp.pth'), '--config', config, '--out', out]);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stdout, /read .*convmixer-dp\.pth: the state_dict under 'model', nn\.DataParallel's 'module\.' prefix removed, \d+ tensors → ConvMixer-16\/2/);
  assert.match(run.stdout, /wrote .*cli-import/);
  const evil = vit(['import', '--weights', join(fixtures, 'evil.pth'), '--config', config, '--out', join(dir, 'cli-evil')]);
  assert.equal(evil.code, 1);
  assert.equal(evil.stderr.trim().split('\n').length, 1, evil.stderr);
});
