import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint/checkpoint.js';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../src/checkpoint/safetensors.js';
import { snapshot } from '../src/checkpoint/weights.js';
import { exportCheckpoint } from '../src/cli/export.js';
import { importWeights } from '../src/cli/import.js';
import { type Config, ConfigSchema } from '../src/config/schema.js';
import { UserError } from '../src/errors.js';
import { modelFromCctArgs } from '../src/families/cct/pytorch.js';
import { initParams, modelForward } from '../src/model/index.js';
import { fromPytorchStateDict } from '../src/checkpoint/pytorch.js';
import { FRESH_STATE } from '../src/train/trainer.js';

const REFERENCE = fileURLToPath(new URL('../bench/cct_reference.py', import.meta.url));
let dir: string;
// PyTorch writes the fixtures (state_dicts and its logits) afresh into the temp dir: they are not
// kept in git. Without Debian's python3-torch the tests that need them skip, saying why.
let FIXTURES = '';
let noTorch = '';

before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'vit-cct-'));
  const written = spawnSync('/usr/bin/python3', [REFERENCE, 'fixture', '--out-dir', dir], { encoding: 'utf8' });
  if (written.status === 0) FIXTURES = dir;
  else noTorch = `PyTorch could not write the fixtures (/usr/bin/python3 with torch: apt-get install python3-torch): ${(written.stderr || String(written.error)).trim().split('\n').pop()}`;
});
after(async () => rm(dir, { recursive: true, force: true }));

interface Expected {
  cct_args: Record<string, unknown>;
  images_nhwc: number[];
  images_shape_nhwc: [number, number, number, number];
  logits: number[][];
}

async function fixture(name: string): Promise<{ stateDict: Record<string, SafeTensor>; metadata: Record<string, string>; expected: Expected; config: Config }> {
  const file = join(FIXTURES, `${name}.safetensors`);
  const { tensors, metadata } = decodeSafetensors(await readFile(file), file);
  const expected = JSON.parse(await readFile(join(FIXTURES, `${name}.expected.json`), 'utf8')) as Expected;
  const model = modelFromCctArgs(expected.cct_args);
  // The tiny fixtures take 8×8 images: data.resize says so (the config checks image_size against it).
  const data = model.image_size === undefined || model.image_size === 32 ? {} : { resize: model.image_size };
  return { stateDict: tensors, metadata, expected, config: ConfigSchema.parse({ data, model }) };
}

for (const name of ['cct-tiny', 'cct-tiny-sine']) {
  test(`a state_dict written by PyTorch (${name}) imports and gives PyTorch's logits`, async (t) => {
    if (noTorch) return t.skip(noTorch);
    const { stateDict, expected, config } = await fixture(name);
    const weights = fromPytorchStateDict(stateDict, config.model, name);
    const params = Object.fromEntries(Object.entries(weights).map(([n, t]) => [n, tf.variable(tf.tensor(t.data, t.shape))]));
    const logits = tf.tidy(() => modelForward(params, config.model, tf.tensor4d(expected.images_nhwc, expected.images_shape_nhwc), { training: false }).arraySync());
    tf.dispose(Object.values(params));
    logits.flat().forEach((v, i) => assert.ok(Math.abs(v - expected.logits.flat()[i]) < 1e-4, `logit ${i}: ${v} vs PyTorch ${expected.logits.flat()[i]}`));
  });
}

test('vit export of a CCT writes the names, shapes and cct_args PyTorch wrote; import restores it bit for bit', async (t) => {
  if (noTorch) return t.skip(noTorch);
  const { stateDict: torchWritten, metadata: torchMetadata, config } = await fixture('cct-tiny');
  const params = initParams(config.model, 3);
  const weights = await snapshot(params);
  tf.dispose(Object.values(params));
  const ckptDir = join(dir, 'trained');
  await saveCheckpoint(ckptDir, { config, weights, optimizer: {}, state: { ...FRESH_STATE }, meta: { tool: 'vit', version: '0', backend: 'cpu', date: '', metrics: null } });

  const exported = join(dir, 'cct.safetensors');
  await exportCheckpoint(ckptDir, exported);
  const { tensors, metadata } = decodeSafetensors(await readFile(exported), exported);
  assert.deepEqual(Object.keys(tensors).sort(), Object.keys(torchWritten).sort());
  for (const [n, t] of Object.entries(torchWritten)) assert.deepEqual(tensors[n].shape, t.shape, n);
  assert.deepEqual(JSON.parse(metadata.cct_args), JSON.parse(torchMetadata.cct_args));

  const imported = join(dir, 'imported');
  await importWeights(exported, config, imported);
  const back = (await loadCheckpoint(imported)).weights;
  assert.deepEqual(Object.keys(back).sort(), Object.keys(weights).sort());
  for (const [n, a] of Object.entries(weights)) {
    assert.deepEqual(back[n].shape, a.shape, n);
    assert.ok(Buffer.from(back[n].data.buffer).equals(Buffer.from(a.data.buffer)), `${n} is not bit-identical`);
  }
  await assert.rejects(importWeights(exported, config, imported), /already exists/);
});

test('a ViT export imports back bit for bit too', async () => {
  const config = ConfigSchema.parse({ model: { dim: 8, depth: 2, heads: 2, dim_head: 4, mlp_dim: 16 } });
  const params = initParams(config.model, 4);
  const weights = await snapshot(params);
  tf.dispose(Object.values(params));
  const ckptDir = join(dir, 'vit');
  await saveCheckpoint(ckptDir, { config, weights, optimizer: {}, state: { ...FRESH_STATE }, meta: { tool: 'vit', version: '0', backend: 'cpu', date: '', metrics: null } });
  await exportCheckpoint(ckptDir, join(dir, 'vit.safetensors'));
  await importWeights(join(dir, 'vit.safetensors'), config, join(dir, 'vit-imported'));
  const back = (await loadCheckpoint(join(dir, 'vit-imported'))).weights;
  for (const [n, a] of Object.entries(weights)) assert.ok(Buffer.from(back[n].data.buffer).equals(Buffer.from(a.data.buffer)), n);
});

test('import names the tensor that is missing, unknown, or of the wrong shape, and writes nothing', async (t) => {
  if (noTorch) return t.skip(noTorch);
  const { stateDict, config } = await fixture('cct-tiny');
  const cases: [Record<string, SafeTensor>, RegExp][] = [
    [Object.fromEntries(Object.entries(stateDict).filter(([n]) => n !== 'classifier.fc.bias')), /missing tensors classifier\.fc\.bias/],
    [{ ...stateDict, 'classifier.extra': stateDict['classifier.fc.bias'] }, /unexpected tensors classifier\.extra/],
    [{ ...stateDict, 'classifier.fc.weight': { dtype: 'F32', shape: [8, 3], data: new Float32Array(24) } }, /classifier\.fc\.weight has shape \[8,3\], the model config needs \[3,8\]/],
  ];
  for (const [tensors, message] of cases) {
    const file = join(dir, 'bad.safetensors');
    await import('node:fs/promises').then((fs) => fs.writeFile(file, encodeSafetensors(tensors)));
    const out = join(dir, 'never');
    await assert.rejects(importWeights(file, config, out), (err: Error) => err instanceof UserError && message.test(err.message));
    await assert.rejects(readFile(join(out, 'config.json')));
  }
  // A ViT config for CCT weights: every tensor is unknown to it.
  const file = join(FIXTURES, 'cct-tiny.safetensors');
  await assert.rejects(importWeights(file, ConfigSchema.parse({}), join(dir, 'never')), /unexpected tensors classifier\.attention_pool\.bias, .* and \d+ more \(not in the vit model/);
});
