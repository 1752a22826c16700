import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { vit } from './helpers/cli.js';

/** A Vulkan loader that finds no driver: what Dawn meets on a machine without a GPU driver. */
const NO_VULKAN_DRIVER = { VK_ICD_FILENAMES: '/nonexistent/icd.json', VK_DRIVER_FILES: '/nonexistent/icd.json' };

/** Lines that native libraries or tfjs write on their own: none may reach the user unasked. */
const NATIVE_NOISE = /Warning:|BackendVk|VulkanError|third_party\/dawn|artificially reduced|Hi, looks like you are running TensorFlow\.js/;

const hasDawn = (() => {
  try {
    createRequire(import.meta.url).resolve('webgpu');
    return true;
  } catch {
    return false;
  }
})();

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-quiet-'));
  await writeSyntheticCifar10(join(root, 'data'), { perBatch: 20, seed: 1 });
});
after(() => rm(root, { recursive: true, force: true }));

test('vit backends writes nothing to stderr, with or without a Vulkan driver', () => {
  for (const env of [{}, NO_VULKAN_DRIVER]) {
    const { code, stdout, stderr } = vit(['backends'], env);
    assert.equal(code, 0, stderr);
    assert.equal(stderr, '');
    assert.doesNotMatch(stdout, NATIVE_NOISE);
  }
});

test('without a Vulkan driver, vit backends says why in its own words; --verbose shows the raw lines', { skip: !hasDawn && 'the webgpu package is not installed' }, () => {
  const plain = vit(['backends'], NO_VULKAN_DRIVER);
  assert.match(plain.stdout, /^webgpu\s+unavailable\n\s+Dawn found no WebGPU adapter: the Vulkan loader (found no Vulkan driver|\(libvulkan\.so\.1\) is not installed)$/m);
  const verbose = vit(['backends', '--verbose'], NO_VULKAN_DRIVER);
  assert.equal(verbose.stderr, '');
  assert.match(verbose.stdout, /^\s+\| Warning: /m);
});

test('vit train (auto backend) shows no native or tfjs lines on stderr, and a config summary instead of the JSON', () => {
  const { code, stdout, stderr } = vit(
    ['train', '--config', 'configs/smoke.json', '--data-dir', join(root, 'data'), '--set', `checkpoint_dir=${root}`,
      '--set', 'train.epochs=1', '--set', 'data.limit_train=32', '--set', 'data.limit_test=20', '--set', 'train.eval_batch_size=20'],
    NO_VULKAN_DRIVER,
  );
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stderr, NATIVE_NOISE);
  assert.doesNotMatch(stdout, NATIVE_NOISE);
  assert.doesNotMatch(stdout, /^\{/m, 'the full config is printed only with --print-config');
  assert.match(stdout, /^train\s+epochs=1 batch_size=32 max_minutes=null eval_batch_size=20$/m);
  assert.match(stdout, /^data\s+limit_train=32 limit_test=20$/m);
});

test('vit train --backend cpu does not print tfjs\'s "running TensorFlow.js in Node.js" banner', () => {
  const { code, stdout, stderr } = vit(
    ['train', '--config', 'configs/smoke.json', '--data-dir', join(root, 'data'), '--set', `checkpoint_dir=${root}`, '--set', 'run_name=cpu',
      '--set', 'train.epochs=1', '--set', 'data.limit_train=32', '--set', 'data.limit_test=20', '--set', 'train.eval_batch_size=20', '--backend', 'cpu'],
  );
  assert.equal(code, 0, stderr);
  assert.doesNotMatch(stdout + stderr, NATIVE_NOISE);
});
