import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import * as ort from 'onnxruntime-node';
import { loadCheckpoint, saveCheckpoint } from '../src/checkpoint/checkpoint.js';
import { exportCheckpoint } from '../src/cli/export.js';
import { importWeights } from '../src/cli/import.js';
import { parseConfig } from '../src/config/load.js';
import { type Config, ConfigSchema } from '../src/config/schema.js';
import { IMAGE_BYTES } from '../src/data/cifar10.js';
import { normalizationOf } from '../src/data/normalize.js';
import { FAMILIES } from '../src/families/index.js';
import { countParams, initParams, paramShapes, stateShapes } from '../src/model/index.js';
import { INPUT_NAME } from '../src/onnx/model.js';
import { nchwPixels } from '../src/onnx/runtime.js';
import { evaluate } from '../src/train/evaluate.js';
import { FRESH_STATE } from '../src/train/trainer.js';
import { Rng } from '../src/util/rng.js';
import { vit } from './helpers/cli.js';
import { CASES } from './helpers/family-cases.js';

/**
 * What every registered model family must do, run over the registry: its closed-form parameter
 * count equals its shapes' and the PyTorch module's; `vit export` → PyTorch (strict load,
 * bench/kentaroy47_reference.py or bench/cct_reference.py) → torch.save → `vit import` gives back
 * the same bytes and PyTorch's logits are `vit eval`'s; the ONNX graph in ONNX Runtime gives
 * `vit eval`'s logits. A family added to the registry without a case here fails the first test.
 */
/** kentaroy47's normalisation, not the default: the graph and the import must carry it. */
const DATA = { mean: [0.4914, 0.4822, 0.4465], std: [0.2023, 0.1994, 0.201] };
const IMAGES = 6;
const REFERENCE = join(import.meta.dirname, '..', 'bench', 'kentaroy47_reference.py');

let dir: string;
let images: Uint8Array;

before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'vit-families-'));
  const rng = new Rng(11);
  images = Uint8Array.from({ length: IMAGES * IMAGE_BYTES }, () => rng.int(256));
  await writeFile(join(dir, 'images.bin'), images);
});
after(() => rm(dir, { recursive: true, force: true }));

test('every registered family has a case here', () => {
  assert.deepEqual(FAMILIES.map((f) => f.name).sort(), Object.keys(CASES).sort());
});

test("a key of another family, or a family that does not exist, is one line naming the key, the family and docs/families.md", () => {
  const message = (model: object) => {
    try {
      parseConfig({ model }, 'c.json');
    } catch (err) {
      return (err as Error).message;
    }
    return 'accepted';
  };
  assert.equal(message({ name: 'resnet', dim: 64 }), "c.json: unknown key model.dim (not a key of model.name 'resnet': docs/families.md lists each family's keys)");
  assert.equal(message({ name: 'convmixer', num_blocks: [2, 2, 2, 2] }), "c.json: unknown key model.num_blocks (not a key of model.name 'convmixer': docs/families.md lists each family's keys)");
  assert.equal(message({ name: 'nosuchnet' }), `c.json: model.name: expected one of ${FAMILIES.map((f) => `'${f.name}'`).join(', ')}, got "nosuchnet"`);
  assert.ok(existsSync(join(import.meta.dirname, '..', 'docs', 'families.md')), 'the page the message names exists');
});

test("docs/families.md has a section per family that names every one of its model keys", async () => {
  const page = await readFile(join(import.meta.dirname, '..', 'docs', 'families.md'), 'utf8');
  for (const family of FAMILIES) {
    const start = page.indexOf(`## \`${family.name}\``);
    assert.ok(start >= 0, `no section "## \`${family.name}\`"`);
    const section = page.slice(start, page.indexOf('\n## ', start + 1));
    const keys = Object.keys((family.schema as unknown as { shape: Record<string, unknown> }).shape).filter((k) => k !== 'name');
    assert.ok(keys.length > 3, `${family.name}: its schema's keys were not read`);
    for (const key of keys) assert.ok(section.includes(`\`${key}\``), `docs/families.md, ${family.name}: model.${key} is not documented`);
  }
});

/** A checkpoint of `family`'s case with weights far from the init (so a wrong layout shows) and BatchNorm statistics that matter. */
async function checkpointOf(family: string): Promise<{ config: Config; path: string }> {
  const config = ConfigSchema.parse({ data: { ...DATA, resize: CASES[family].image_size }, model: CASES[family] });
  const params = initParams(config.model, 5);
  const rng = new Rng(13);
  const weights = Object.fromEntries(
    Object.entries(params).map(([name, v]) => {
      const data = Float32Array.from(v.dataSync() as Float32Array, (w) => {
        if (name.endsWith('running_var')) return 0.5 + rng.next();
        if (name.endsWith('running_mean')) return rng.uniform(-0.3, 0.3);
        if (name.endsWith('num_batches_tracked')) return 7;
        return w + rng.uniform(-0.2, 0.2);
      });
      return [name, { shape: v.shape, data }];
    }),
  );
  tf.dispose(Object.values(params));
  const path = join(dir, `${family}-ckpt`);
  await saveCheckpoint(path, { config, weights, optimizer: {}, state: { ...FRESH_STATE }, meta: { tool: 'vit', version: '0', backend: 'cpu', date: '', metrics: null } });
  return { config, path };
}

async function evalLogits(checkpoint: string): Promise<Float32Array> {
  const ckpt = await loadCheckpoint(checkpoint);
  const params = initParams(ckpt.config.model, 0);
  for (const [name, v] of Object.entries(params)) v.assign(tf.tensor(ckpt.weights[name].data, ckpt.weights[name].shape));
  const result = await evaluate(params, ckpt.config.model, { images, labels: new Uint8Array(IMAGES), count: IMAGES }, { batchSize: IMAGES, normalization: normalizationOf(ckpt.config.data) });
  tf.dispose(Object.values(params));
  return result.logits;
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string): void {
  const scale = Math.max(...Array.from(expected, Math.abs));
  const error = Math.max(...Array.from(actual, (v, i) => Math.abs(v - expected[i]))) / scale;
  assert.ok(error <= 1e-4, `${what}: max |Δlogit| / scale = ${error}`);
}

const torchMissing = spawnSync('/usr/bin/python3', ['-c', 'import torch'], { encoding: 'utf8' }).status !== 0;

for (const family of Object.keys(CASES)) {
  test(`${family}: the closed-form parameter count is the shapes'`, () => {
    const cfg = ConfigSchema.parse({ data: { resize: CASES[family].image_size }, model: CASES[family] }).model;
    const fromShapes = Object.values(paramShapes(cfg)).reduce((sum, s) => sum + s.reduce((a, b) => a * b, 1), 0);
    assert.equal(countParams(cfg), fromShapes);
  });

  test(
    `${family}: vit export → PyTorch (strict load, its logits, its parameter count) → torch.save → vit import gives back the same bytes`,
    { skip: torchMissing ? 'needs /usr/bin/python3 with torch (apt-get install python3-torch)' : false },
    async () => {
      const { config, path } = await checkpointOf(family);
      await exportCheckpoint(path, join(dir, `${family}.safetensors`));
      const run = spawnSync('/usr/bin/python3', [
        REFERENCE, 'roundtrip', '--model', JSON.stringify(config.model), '--weights', join(dir, `${family}.safetensors`), '--out', join(dir, `${family}.pth`),
        '--images', join(dir, 'images.bin'), '--count', String(IMAGES), '--mean', DATA.mean.join(), '--std', DATA.std.join(),
      ], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const torch = JSON.parse(run.stdout.trim().split('\n').pop()!) as { params: number; logits: number[][] };
      assert.equal(countParams(config.model), torch.params, 'parameter count: ours vs PyTorch');
      assertClose(await evalLogits(path), torch.logits.flat(), 'PyTorch vs vit eval');

      await importWeights(join(dir, `${family}.pth`), config, join(dir, `${family}-back`));
      const [original, back] = [await loadCheckpoint(path), await loadCheckpoint(join(dir, `${family}-back`))];
      assert.deepEqual(Object.keys(back.weights).sort(), Object.keys(stateShapes(config.model)).sort());
      for (const [name, a] of Object.entries(original.weights)) {
        assert.ok(Buffer.from(back.weights[name].data.buffer).equals(Buffer.from(a.data.buffer)), `${name} is not bit-identical after the round trip`);
      }
    },
  );

  test(`${family}: the ONNX graph in ONNX Runtime gives vit eval's logits (its normalisation inside), and ONNX's checker accepts it`, async (t) => {
    const { path } = await checkpointOf(family);
    const onnxFile = join(dir, `${family}.onnx`);
    await exportCheckpoint(path, onnxFile);
    const session = await ort.InferenceSession.create(await readFile(onnxFile));
    const perImage = Array.from({ length: IMAGES }, (_, i) => images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES));
    const result = await session.run({ [INPUT_NAME]: new ort.Tensor('float32', nchwPixels(perImage), [IMAGES, 3, 32, 32]) });
    await session.release();
    assertClose(result[session.outputNames[0]].data as Float32Array, await evalLogits(path), 'ONNX Runtime vs vit eval');
    if (!hasOnnxChecker && !requireChecker) return t.diagnostic("ONNX's checker not run: python3-onnx is not installed (VIT_REQUIRE_ONNX_CHECKER=1 makes this a failure)");
    assert.ok(hasOnnxChecker, 'VIT_REQUIRE_ONNX_CHECKER=1, but /usr/bin/python3 cannot import onnx (apt-get install python3-onnx)');
    const checked = spawnSync('/usr/bin/python3', ['-c', CHECKER, onnxFile], { encoding: 'utf8' });
    assert.equal(checked.status, 0, checked.stderr);
    assert.deepEqual(JSON.parse(checked.stdout), ['batch', 10], "ONNX's shape inference: logits [batch, 10]");
  });
}

for (const family of FAMILIES.filter((f) => !f.tokenMap)) {
  test(`${family.name}: vit attention says in one line that the family has no attention to draw`, async () => {
    const { path } = await checkpointOf(family.name);
    const out = join(dir, `${family.name}-attention.png`);
    const run = vit(['attention', '--checkpoint', path, '--backend', 'cpu', '--out', out, join(dir, 'images.bin')]);
    assert.equal(run.code, 1);
    assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
    assert.match(run.stderr, /has no attention to draw \(vit attention is for the families with attention: model.name 'vit', 'cct'/);
    await assert.rejects(readFile(out), 'nothing written');
  });
}

const hasOnnxChecker = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
const requireChecker = process.env.VIT_REQUIRE_ONNX_CHECKER === '1';
/** ONNX's own full check and strict shape inference; prints the output's shape. */
const CHECKER = [
  'import json, sys, onnx',
  'model = onnx.load(sys.argv[1])',
  'onnx.checker.check_model(model, full_check=True)',
  'inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)',
  'print(json.dumps([d.dim_param or d.dim_value for d in inferred.graph.output[0].type.tensor_type.shape.dim]))',
].join('\n');
