import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { decodeSafetensors, encodeSafetensors, type SafeTensor } from '../src/checkpoint/safetensors.js';
import { exportCheckpoint, exportCommand } from '../src/cli/export.js';
import { ConfigSchema } from '../src/config/schema.js';
import type { VitConfig } from '../src/families/vit/config.js';
import { UserError } from '../src/errors.js';
import { initParams } from '../src/model/index.js';

const MODEL: Partial<VitConfig> = { dim: 8, depth: 2, heads: 2, dim_head: 4, mlp_dim: 16 };
const cfg = ConfigSchema.parse({ model: MODEL }).model as VitConfig;
let dir: string;

/** A checkpoint directory as the trainer writes it: config.json and weights.safetensors. */
async function writeCheckpoint(path: string, model: Partial<VitConfig>, weights: Record<string, SafeTensor>): Promise<void> {
  await writeFile(join(path, 'config.json'), JSON.stringify(ConfigSchema.parse({ model })));
  await writeFile(join(path, 'weights.safetensors'), encodeSafetensors(weights));
}

/** Freshly initialised weights of `model`, as a checkpoint stores them. */
function weightsOf(model: Partial<VitConfig>): Record<string, SafeTensor> {
  const params = initParams(ConfigSchema.parse({ model }).model, 0);
  const weights: Record<string, SafeTensor> = {};
  for (const [name, v] of Object.entries(params)) {
    weights[name] = { dtype: 'F32', shape: v.shape, data: v.dataSync() as Float32Array };
    v.dispose();
  }
  return weights;
}

before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'vit-export-'));
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('vit export writes the PyTorch state_dict: its names, [out, in] Linear weights, metadata', async () => {
  const weights = weightsOf(MODEL);
  await writeCheckpoint(dir, MODEL, weights);
  const out = join(dir, 'torch', 'vit.safetensors');
  await exportCommand().parseAsync(['--checkpoint', dir, '--out', out], { from: 'user' });

  const { tensors, metadata } = decodeSafetensors(await readFile(out), out);
  const inner = cfg.heads * cfg.dim_head;
  const expected: Record<string, number[]> = {
    'to_patch_embedding.1.weight': [8, 48],
    'to_patch_embedding.1.bias': [8],
    cls_token: [1, 1, 8],
    pos_embedding: [1, 65, 8],
    'mlp_head.0.weight': [8],
    'mlp_head.0.bias': [8],
    'mlp_head.1.weight': [10, 8],
    'mlp_head.1.bias': [10],
  };
  for (const i of [0, 1]) {
    Object.assign(expected, {
      [`transformer.layers.${i}.0.norm.weight`]: [8],
      [`transformer.layers.${i}.0.norm.bias`]: [8],
      [`transformer.layers.${i}.0.fn.to_qkv.weight`]: [3 * inner, 8],
      [`transformer.layers.${i}.0.fn.to_out.0.weight`]: [8, inner],
      [`transformer.layers.${i}.0.fn.to_out.0.bias`]: [8],
      [`transformer.layers.${i}.1.norm.weight`]: [8],
      [`transformer.layers.${i}.1.norm.bias`]: [8],
      [`transformer.layers.${i}.1.fn.net.0.weight`]: [16, 8],
      [`transformer.layers.${i}.1.fn.net.0.bias`]: [16],
      [`transformer.layers.${i}.1.fn.net.3.weight`]: [8, 16],
      [`transformer.layers.${i}.1.fn.net.3.bias`]: [8],
    });
  }
  assert.deepEqual(
    Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, t.shape])),
    expected,
  );
  assert.ok(Object.values(tensors).every((t) => t.dtype === 'F32'));

  // PyTorch's fc1 weight [out=16, in=8] at (row 5, column 3) is ours [in=8, out=16] at (3, 5).
  assert.equal(tensors['transformer.layers.1.1.fn.net.0.weight'].data[5 * 8 + 3], weights['blocks.1.mlp.fc1.weight'].data[3 * 16 + 5]);
  assert.deepEqual(tensors.pos_embedding.data, weights.pos_embed.data);
  assert.equal(metadata.format, 'pt');
  assert.deepEqual(JSON.parse(metadata.model_config), cfg);
});

test('export refuses checkpoints that do not fit, naming the file', async () => {
  const weights = weightsOf(MODEL);
  const out = join(dir, 'bad.safetensors');
  const expectUserError = (pattern: RegExp) => (err: unknown) => err instanceof UserError && pattern.test(err.message);

  await assert.rejects(exportCheckpoint(join(dir, 'nowhere'), out), expectUserError(/nowhere.config\.json: not found/));

  await writeCheckpoint(dir, { ...MODEL, dim: 16 }, weights);
  await assert.rejects(
    exportCheckpoint(dir, out),
    expectUserError(/weights\.safetensors: patch_embed\.weight has shape \[48,8\], the model config needs \[48,16\]/),
  );

  const { 'head.linear.bias': _dropped, ...incomplete } = weights;
  await writeCheckpoint(dir, MODEL, incomplete);
  await assert.rejects(exportCheckpoint(dir, out), expectUserError(/missing weights head\.linear\.bias/));

  await writeFile(join(dir, 'config.json'), JSON.stringify({ model: { ...MODEL, pool: 'max' } }));
  await assert.rejects(exportCheckpoint(dir, out), expectUserError(/config\.json: model\.pool: /));

  // heads = 1, dim_head = dim: the PyTorch ViT has no to_out then, so nothing to load ours into.
  const single = { ...MODEL, heads: 1, dim_head: 8 };
  await writeCheckpoint(dir, single, weightsOf(single));
  await assert.rejects(exportCheckpoint(dir, out), expectUserError(/heads = 1 with model\.dim_head = model\.dim/));
});
