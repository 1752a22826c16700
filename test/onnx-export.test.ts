import { fromBinary } from '@bufbuild/protobuf';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, test } from 'node:test';
import { ModelProtoSchema, type ValueInfoProto } from 'onnx-buf';
import { useBackend } from '../src/backend/index.js';
import { exportFormat } from '../src/cli/export.js';
import { loadInferenceModel, mapBatches } from '../src/cli/inference.js';
import { ConfigSchema, type ModelConfig } from '../src/config/schema.js';
import { CLASS_NAMES, IMAGE_BYTES, type Split, loadCifar10 } from '../src/data/cifar10.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { UserError } from '../src/errors.js';
import { evalLogits } from '../src/model/index.js';
import { ONNX_OPSET } from '../src/onnx/model.js';
import { loadOnnxClassifier } from '../src/onnx/runtime.js';
import { createRunDir } from '../src/train/run-dir.js';
import { train } from '../src/train/trainer.js';
import { writePng } from '../src/viz/image-io.js';
import { vit } from './helpers/cli.js';
import { realCifar10DataDir } from './helpers/real-cifar.js';

/**
 * `vit export --out model.onnx` for a trained ViT and a trained CCT, checked by ONNX Runtime
 * against the tfjs model `vit eval` and `vit predict` run, on real CIFAR-10 test images (the
 * synthetic set where this machine has no copy), and by ONNX's own checker.
 */
const FAMILIES: Record<string, Partial<ModelConfig>> = {
  vit: { dim: 32, depth: 2, heads: 2, dim_head: 16, mlp_dim: 64, patch_size: 4 },
  cct: { name: 'cct', dim: 32, depth: 1, heads: 2, mlp_ratio: 2, conv_layers: 2, conv_channels: 16 },
};
const TEST_IMAGES = 200;
const TOLERANCE = 1e-4;
/** What `vit train`, `vit eval` and `vit predict` use on a CPU (with the native kernels where built). */
const BACKEND = 'wasm';

let root: string;
let dataDir: string;
let real = false;
let test200: Split;
const best: Record<string, string> = {};
const onnxFile: Record<string, string> = {};

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-onnx-'));
  const realDir = realCifar10DataDir(root);
  real = realDir !== null;
  dataDir = realDir ?? join(root, 'synthetic');
  if (!real) await writeSyntheticCifar10(dataDir, { perBatch: 300, seed: 1 });
  const data = await loadCifar10(join(dataDir, 'cifar-10-batches-bin'));
  test200 = { images: data.test.images.subarray(0, TEST_IMAGES * IMAGE_BYTES), labels: data.test.labels.subarray(0, TEST_IMAGES), count: TEST_IMAGES };
  const backend = await useBackend(BACKEND);
  for (const [family, model] of Object.entries(FAMILIES)) {
    // A quick training: enough that the model tells classes apart, which is all the checks need.
    const config = ConfigSchema.parse({
      run_name: family,
      checkpoint_dir: root,
      backend: BACKEND,
      data: { limit_train: 512, limit_test: TEST_IMAGES },
      model,
      optimizer: { lr: 2e-3 },
      train: { epochs: 2, batch_size: 64, eval_batch_size: 100 },
    });
    const runDir = await createRunDir(root, family);
    await train({ config, data, runDir, backend: BACKEND });
    best[family] = join(runDir, 'best');
    onnxFile[family] = join(root, `${family}.onnx`);
    const exported = vit(['export', '--checkpoint', best[family], '--out', onnxFile[family]]);
    assert.equal(exported.code, 0, exported.stderr);
    assert.equal(exported.stdout, `wrote ${onnxFile[family]}\n`);
  }
  backend.dispose();
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

/** The logits `vit predict` computes (its model loading and batches, the run's TTA: none here) on the first test images. */
async function tfjsLogits(checkpoint: string): Promise<number[][]> {
  const model = await loadInferenceModel(checkpoint, BACKEND);
  try {
    const batches = await mapBatches<number[][]>(test200, 100, model.normalization, (x) => [evalLogits(model.params, model.cfg, x, model.tta)]);
    return batches.flatMap(([logits]) => logits);
  } finally {
    model.dispose();
  }
}

/** The classes `vit eval --predictions` writes for the run's test images (its limit_test: the first 200). */
async function evalPredictions(checkpoint: string): Promise<number[]> {
  const csv = join(root, 'predictions.csv');
  const run = vit(['eval', '--checkpoint', checkpoint, '--data-dir', dataDir, '--backend', BACKEND, '--predictions', csv]);
  assert.equal(run.code, 0, run.stderr);
  return (await readFile(csv, 'utf8')).trim().split('\n').slice(1).map((line) => Number(line.split(',')[2]));
}

const argMax = (row: number[]) => row.indexOf(Math.max(...row));
const images = (split: Split) => Array.from({ length: split.count }, (_, i) => split.images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES));

for (const family of Object.keys(FAMILIES)) {
  test(`${family}: ONNX Runtime gives the logits of vit eval / vit predict at batch sizes 1, 7 and 100, and the classes of vit eval --predictions`, async () => {
    const expected = await tfjsLogits(best[family]);
    const evalClasses = await evalPredictions(best[family]);
    assert.equal(evalClasses.length, TEST_IMAGES);
    assert.deepEqual(expected.map(argMax), evalClasses, 'vit eval and the in-process model agree (the reference is right)');
    assert.ok(new Set(evalClasses).size >= 3, `the model tells classes apart (${new Set(evalClasses).size} distinct), so agreement means something`);

    const classifier = await loadOnnxClassifier(onnxFile[family]);
    try {
      assert.deepEqual(classifier.classes, CLASS_NAMES);
      for (const batchSize of [1, 7, 100]) {
        const logits = await classifier.logits(images(test200), batchSize);
        assert.equal(logits.length, TEST_IMAGES);
        const maxDiff = Math.max(...logits.flatMap((row, i) => row.map((v, c) => Math.abs(v - expected[i][c]))));
        const agree = logits.filter((row, i) => argMax(row) === evalClasses[i]).length;
        console.log(`${family} on ${real ? 'real CIFAR-10' : 'synthetic'} test images, batch ${batchSize}: max |ONNX − tfjs| logit ${maxDiff.toExponential(2)}, same class ${agree}/${TEST_IMAGES}`);
        assert.ok(maxDiff <= TOLERANCE, `batch ${batchSize}: max logit difference ${maxDiff} > ${TOLERANCE}`);
        assert.equal(agree, TEST_IMAGES, `batch ${batchSize}: every image gets vit eval's class`);
      }
    } finally {
      await classifier.dispose();
    }
  });
}

test('the file: opset 17, pixels [batch, 3, 32, 32] in, logits [batch, 10] out, class names and the source checkpoint in metadata_props', async () => {
  for (const family of Object.keys(FAMILIES)) {
    const model = fromBinary(ModelProtoSchema, await readFile(onnxFile[family]));
    assert.deepEqual(model.opsetImport.map((o) => [o.domain, Number(o.version)]), [['', ONNX_OPSET]]);
    const shape = (info: ValueInfoProto) =>
      info.type?.value.case === 'tensorType' ? info.type.value.value.shape?.dim.map((d) => (d.value.case === 'dimValue' ? Number(d.value.value) : d.value.value)) : undefined;
    assert.deepEqual(model.graph!.input.map((i) => [i.name, shape(i)]), [['pixels', ['batch', 3, 32, 32]]]);
    assert.deepEqual(model.graph!.output.map((o) => [o.name, shape(o)]), [['logits', ['batch', 10]]]);
    const metadata = Object.fromEntries(model.metadataProps.map((p) => [p.key, p.value]));
    assert.deepEqual(JSON.parse(metadata.classes), CLASS_NAMES);
    assert.equal(metadata.checkpoint, best[family]);
    assert.equal(metadata.checkpoint_weights_sha256, createHash('sha256').update(await readFile(join(best[family], 'weights.safetensors'))).digest('hex'));
    assert.equal(JSON.parse(metadata.model_config).name, family);
    // Evaluation mode only: nothing random in the graph.
    assert.ok(!model.graph!.node.some((n) => /Dropout|Random/.test(n.opType)));
  }
});

const hasOnnxChecker = spawnSync('/usr/bin/python3', ['-c', 'import onnx'], { encoding: 'utf8' }).status === 0;
const requireChecker = process.env.VIT_REQUIRE_ONNX_CHECKER === '1';

test(
  "ONNX's checker accepts the file (full check, with strict shape inference: logits [batch, 10])",
  { skip: hasOnnxChecker || requireChecker ? false : 'python3-onnx is not installed (apt-get install python3-onnx); VIT_REQUIRE_ONNX_CHECKER=1 makes this a failure' },
  () => {
    assert.ok(hasOnnxChecker, 'VIT_REQUIRE_ONNX_CHECKER=1, but /usr/bin/python3 cannot import onnx (apt-get install python3-onnx)');
    const script = [
      'import json, sys, onnx',
      'model = onnx.load(sys.argv[1])',
      'onnx.checker.check_model(model, full_check=True)',
      'inferred = onnx.shape_inference.infer_shapes(model, check_type=True, strict_mode=True)',
      'out = inferred.graph.output[0].type.tensor_type.shape.dim',
      'print(json.dumps([onnx.__version__, [d.dim_param or d.dim_value for d in out]]))',
    ].join('\n');
    for (const family of Object.keys(FAMILIES)) {
      const run = spawnSync('/usr/bin/python3', ['-c', script, onnxFile[family]], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      const [version, outputShape] = JSON.parse(run.stdout) as [string, unknown[]];
      assert.deepEqual(outputShape, ['batch', 10], `onnx ${version}`);
    }
  },
);

/** PNG copies of the first `count` test images. */
async function pngCopies(count: number): Promise<string[]> {
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const file = join(root, `test-${i}.png`);
    await writePng(file, { width: 32, height: 32, pixels: test200.images.subarray(i * IMAGE_BYTES, (i + 1) * IMAGE_BYTES) });
    files.push(file);
  }
  return files;
}

test('vit predict --model FILE.onnx: the classes and probabilities of vit predict --checkpoint, and the same table', async () => {
  const files = await pngCopies(12);
  for (const family of Object.keys(FAMILIES)) {
    const viaOnnx = vit(['predict', '--model', onnxFile[family], '--json', '--top', '10', ...files]);
    const viaCheckpoint = vit(['predict', '--checkpoint', best[family], '--backend', BACKEND, '--json', '--top', '10', ...files]);
    assert.equal(viaOnnx.code, 0, viaOnnx.stderr);
    assert.equal(viaCheckpoint.code, 0, viaCheckpoint.stderr);
    type Result = { file: string; top: { label: string; index: number; probability: number }[] };
    const [onnx, tfjs] = [JSON.parse(viaOnnx.stdout) as Result[], JSON.parse(viaCheckpoint.stdout) as Result[]];
    assert.deepEqual(onnx.map((r) => [r.file, r.top[0].label]), tfjs.map((r) => [r.file, r.top[0].label]));
    onnx.forEach((r, i) => {
      for (const guess of r.top) {
        const same = tfjs[i].top.find((g) => g.index === guess.index)!;
        assert.ok(Math.abs(same.probability - guess.probability) < 1e-5, `${r.file} ${guess.label}: ${guess.probability} vs ${same.probability}`);
      }
    });
  }
  const table = vit(['predict', '--model', onnxFile.cct, files[0]]);
  assert.equal(table.code, 0, table.stderr);
  const lines = table.stdout.trim().split('\n');
  assert.match(lines[0], /^file\s+#1\s+#2\s+#3$/);
  assert.match(lines[1], new RegExp(`^${files[0]}\\s+\\w+ \\d+\\.\\d%\\s+\\w+ \\d+\\.\\d%\\s+\\w+ \\d+\\.\\d%$`));
});

/** A failed command: exit 1, one line on stderr matching `pattern`, nothing on stdout. */
function assertOneLineError(run: ReturnType<typeof vit>, pattern: RegExp) {
  assert.equal(run.code, 1, run.stderr);
  assert.equal(run.stdout, '');
  const lines = run.stderr.trim().split('\n');
  assert.equal(lines.length, 1, run.stderr);
  assert.match(lines[0], pattern);
}

test('vit export: an unknown extension names the formats it knows, and writes nothing; --format decides where the extension cannot', async () => {
  const dir = await mkdtemp(join(root, 'export-'));
  const run = vit(['export', '--checkpoint', best.vit, '--out', join(dir, 'model.pt')]);
  assertOneLineError(run, /--out .*model\.pt: unknown extension \.pt; vit export writes \.safetensors .* or \.onnx .*, or give --format safetensors\|onnx/);
  const userError = (pattern: RegExp) => (err: unknown) => err instanceof UserError && pattern.test(err.message);
  assert.throws(() => exportFormat('model'), userError(/--out model: no extension; vit export writes \.safetensors/));
  assert.throws(() => exportFormat('model.safetensors', 'onnx'), userError(/is a \.safetensors file name, but --format is onnx/));
  assert.equal(exportFormat('MODEL.ONNX'), 'onnx');
  assert.equal(exportFormat('model.bin', 'onnx'), 'onnx');
  assert.deepEqual(await readdir(dir), [], 'nothing written, not even a temp file');

  // An existing file survives a failed export.
  const kept = join(dir, 'kept.onnx');
  await writeFile(kept, 'previous');
  assertOneLineError(vit(['export', '--checkpoint', join(root, 'nowhere'), '--out', kept]), /nowhere.config\.json: not found/);
  assert.equal(await readFile(kept, 'utf8'), 'previous');

  const bin = join(dir, 'model.bin');
  const exported = vit(['export', '--checkpoint', best.cct, '--out', bin, '--format', 'onnx']);
  assert.equal(exported.code, 0, exported.stderr);
  assert.equal(fromBinary(ModelProtoSchema, await readFile(bin)).graph?.output[0].name, 'logits');
});

test('vit predict --model: a missing or non-ONNX file is one error line naming it, so is a missing ONNX Runtime; --model and --checkpoint exclude each other', async () => {
  const [image] = await pngCopies(1);
  const missing = join(root, 'missing.onnx');
  assertOneLineError(vit(['predict', '--model', missing, image]), new RegExp(`${missing}: not found`));
  const text = join(root, 'notes.onnx');
  await writeFile(text, 'not a model\n');
  await assert.rejects(loadOnnxClassifier(text), (err: unknown) => err instanceof UserError && err.message.startsWith(`${text}: `));
  const both = vit(['predict', '--model', onnxFile.vit, '--checkpoint', best.vit, image]);
  assert.equal(both.code, 1);
  assert.match(both.stderr, /--model.*cannot be used with.*--checkpoint/);
  assertOneLineError(vit(['predict', image]), /give --checkpoint DIR or --model FILE\.onnx/);
  // Without onnxruntime-node (a devDependency): say how to install it.
  const hidden = vit(['predict', '--model', onnxFile.vit, image], { NODE_OPTIONS: `--import=${resolve('test/fixtures/hide-onnxruntime.mjs')}` });
  assertOneLineError(hidden, /vit predict --model needs ONNX Runtime: install it with `npm install onnxruntime-node`/);
});
