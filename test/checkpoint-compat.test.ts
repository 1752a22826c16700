import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadCheckpoint } from '../src/checkpoint/checkpoint.js';
import { encodeSafetensors } from '../src/checkpoint/safetensors.js';
import { restoreVariables } from '../src/checkpoint/weights.js';
import { loadCifar10 } from '../src/data/cifar10.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { initParams, modelForward } from '../src/model/index.js';
import { METRIC_COLUMNS } from '../src/train/metrics-csv.js';
import { train } from '../src/train/trainer.js';

// Checkpoints written by earlier versions (tiny runs on synthetic data): v0.2 (before
// meta.compute; ViT with EMA, CCT with Adam) and v0.3 (ViT; CCT with Muon, EMA, lookahead and a
// frozen whitened conv), each with the logits its own code gave on a fixed input. Git keeps their
// config.json and state.json as written, and their two safetensors files as JSON (weights.json,
// optimizer.json: metadata and each float32 tensor's values), from which checkpointOf writes the
// same safetensors bytes into a temp copy: no checkpoint file in the repository.
const FIXTURES = join(import.meta.dirname, 'fixtures', 'checkpoints');
const RUNS = ['v0.2/vit', 'v0.2/cct', 'v0.3/vit', 'v0.3/cct'];
let dir: string;

before(async () => {
  await tf.setBackend('cpu');
  dir = await mkdtemp(join(tmpdir(), 'vit-compat-'));
});
after(() => rm(dir, { recursive: true, force: true }));

/** The checkpoint directory of fixture `run`, written into `target` (its safetensors files from their JSON). */
async function checkpointOf(run: string, target = join(dir, 'checkpoints', run)): Promise<string> {
  await cp(join(FIXTURES, run), target, { recursive: true });
  for (const file of ['weights', 'optimizer']) {
    const json = join(target, `${file}.json`);
    const { metadata, tensors } = JSON.parse(await readFile(json, 'utf8')) as { metadata: Record<string, string> | null; tensors: Record<string, { shape: number[]; data: number[] }> };
    const safe = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, { dtype: 'F32' as const, shape: t.shape, data: Float32Array.from(t.data) }]));
    await writeFile(join(target, `${file}.safetensors`), encodeSafetensors(safe, metadata ?? undefined));
    await rm(json);
  }
  return target;
}

for (const run of RUNS) {
  test(`a ${run} checkpoint loads and gives the logits its own version gave`, async () => {
    const ckpt = await loadCheckpoint(await checkpointOf(run));
    const expected = JSON.parse(await readFile(join(FIXTURES, run, 'expected-logits.json'), 'utf8')) as { logits: number[][] };
    const params = initParams(ckpt.config.model, 0);
    restoreVariables(params, ckpt.weights, run);
    const input = Array.from({ length: 2 * 32 * 32 * 3 }, (_, i) => Math.sin(i * 0.37) * 1.5);
    const logits = tf.tidy(() => modelForward(params, ckpt.config.model, tf.tensor4d(input, [2, 32, 32, 3]), { training: false }).arraySync());
    tf.dispose(Object.values(params));
    logits.flat().forEach((v, i) => assert.ok(Math.abs(v - expected.logits.flat()[i]) <= 1e-6, `${run} logit ${i}: ${v}, its version gave ${expected.logits.flat()[i]}`));
  });

  test(`a ${run} checkpoint resumes: its optimizer state is taken and training goes on`, async () => {
    const runDir = join(dir, run.replace('/', '-'));
    await checkpointOf(run, join(runDir, 'last'));
    await writeFile(join(runDir, 'metrics.csv'), `${METRIC_COLUMNS.join(',')}\n`);
    const resume = await loadCheckpoint(join(runDir, 'last'));
    const data = await loadCifar10(await writeSyntheticCifar10(join(dir, 'data'), { perBatch: 40, seed: 1 }));
    const config = { ...resume.config, train: { ...resume.config.train, epochs: resume.state.epoch + 1 } };
    const result = await train({ config, data, runDir, backend: 'cpu', resume });
    assert.equal(result.reason, 'completed');
    assert.equal(result.state.epoch, resume.state.epoch + 1);
    assert.ok(result.state.global_step > resume.state.global_step);
  });
}
