import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { writePng } from '../src/viz/image-io.js';
import { vit } from './helpers/cli.js';

/**
 * Through the real CLI, on synthetic CIFAR-10: a tiny CCT trains, exports, imports back, evaluates
 * to the same accuracy, and a new run starts from the imported weights (train.init_from).
 */
test('vit train → export → import → eval and train.init_from, for a CCT', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vit-cct-cli-'));
  const dataDir = join(dir, 'data');
  await writeSyntheticCifar10(dataDir, { perBatch: 40, seed: 1 });
  const config = join(dir, 'cct.json');
  const base = {
    checkpoint_dir: join(dir, 'ckpt'),
    backend: 'wasm',
    data: { limit_train: 64, limit_test: 40 },
    model: { name: 'cct', dim: 16, depth: 1, heads: 2, mlp_ratio: 1, conv_layers: 2, conv_channels: 64 },
    train: { epochs: 1, batch_size: 32, eval_batch_size: 40 },
    schedule: { warmup_epochs: 0 },
    early_stopping: { enabled: false },
  };
  await writeFile(config, JSON.stringify(base));
  const trained = vit(['train', '--config', config, '--data-dir', dataDir]);
  assert.equal(trained.code, 0, trained.stderr);
  assert.match(trained.stdout, /model\s+CCT, [\d,]+ parameters/);

  // Pictures and predictions work for a CCT too: its map is the sequence-pooling weights.
  const image = join(dir, 'image.png');
  await writePng(image, { width: 32, height: 32, pixels: new Uint8Array(32 * 32 * 3).map((_, i) => (i * 7) % 256) });
  const last = join(dir, 'ckpt', 'cct', 'last');
  const attention = vit(['attention', '--checkpoint', last, '--out', join(dir, 'attention.png'), image]);
  assert.equal(attention.code, 0, attention.stderr);
  assert.equal((await sharp(join(dir, 'attention.png')).metadata()).format, 'png');
  const predicted = vit(['predict', '--checkpoint', last, '--json', image]);
  assert.equal(predicted.code, 0, predicted.stderr);
  assert.equal(JSON.parse(predicted.stdout)[0].top.length, 3);

  const file = join(dir, 'cct.safetensors');
  assert.equal(vit(['export', '--checkpoint', join(dir, 'ckpt', 'cct', 'last'), '--out', file]).code, 0);
  const imported = join(dir, 'imported');
  const imp = vit(['import', '--weights', file, '--config', config, '--out', imported]);
  assert.equal(imp.code, 0, imp.stderr);
  const original = (await loadCheckpoint(join(dir, 'ckpt', 'cct', 'last'))).weights;
  const back = (await loadCheckpoint(imported)).weights;
  for (const [name, a] of Object.entries(original)) assert.deepEqual(Array.from(back[name].data), Array.from(a.data), name);

  const evalJson = (ckpt: string) => {
    const { accuracy, loss } = JSON.parse(vit(['eval', '--checkpoint', ckpt, '--data-dir', dataDir, '--json']).stdout) as { accuracy: number; loss: number };
    return { accuracy, loss };
  };
  assert.deepEqual(evalJson(imported), evalJson(join(dir, 'ckpt', 'cct', 'last')));

  // A run from the imported weights at a vanishing learning rate evaluates like them.
  await writeFile(config, JSON.stringify({ ...base, run_name: 'again', optimizer: { lr: 1e-12 }, schedule: { warmup_epochs: 0, min_lr: 0 }, train: { ...base.train, init_from: imported } }));
  assert.equal(vit(['train', '--config', config, '--data-dir', dataDir]).code, 0);
  assert.deepEqual(evalJson(join(dir, 'ckpt', 'again', 'last')).accuracy, evalJson(imported).accuracy);

  // Importing into an existing directory, or with the wrong family, fails and writes nothing.
  assert.match(vit(['import', '--weights', file, '--config', config, '--out', imported]).stderr, /already exists/);
  await writeFile(join(dir, 'vit.json'), JSON.stringify({ ...base, model: {} }));
  const wrong = vit(['import', '--weights', file, '--config', join(dir, 'vit.json'), '--out', join(dir, 'never')]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.stderr, /unexpected tensors tokenizer\.conv_layers|unexpected tensors classifier/);
  assert.ok(!(await readdir(dir)).includes('never'));
});
