// The ONNX Runtime peer of `vit bench`'s inference: the config's model, initialised as vit
// initialises it, exported as `vit export --format onnx` writes it (the same graph: pixel
// normalisation, resize where the config has one, logits out) and run by onnxruntime-node on the
// CPU execution provider with the same thread count as vit, every graph optimisation on. Printed
// with `vit bench --json`'s keys for inference, so bench/compare.sh can set the two side by side.
//
//   node --import tsx bench/onnxruntime_reference.ts --config configs/cpu-1h.json [--batch N] [--steps N] [--warmup N] [--threads N (default: every core, as vit)] [--json]
//
// Needs onnxruntime-node (a devDependency: `npm install`). Not part of CI.
import { availableParallelism } from 'node:os';
import { parseArgs } from 'node:util';
import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backend/index.js';
import type { SafeTensor } from '../src/checkpoint/safetensors.js';
import { loadConfig } from '../src/config/load.js';
import { CHANNELS, IMAGE_SIZE } from '../src/data/cifar10.js';
import { forwardFlops, initParams, modelName } from '../src/model/index.js';
import { onnxModel } from '../src/onnx/model.js';

const { values } = parseArgs({
  options: {
    config: { type: 'string' },
    batch: { type: 'string' },
    steps: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    threads: { type: 'string', default: String(availableParallelism()) },
    json: { type: 'boolean', default: false },
  },
});
if (!values.config) throw new Error('onnxruntime_reference.ts: --config <file> is required');
const cfg = loadConfig(values.config, []);
const batch = Number(values.batch ?? cfg.train.batch_size);
const steps = Number(values.steps);
const warmup = Number(values.warmup);
const threads = Number(values.threads);

// Weights in vit's names, as a checkpoint holds them (onnxModel reads those), initialised as vit bench does.
await useBackend('wasm');
const params = initParams(cfg.model, cfg.seed);
const weights: Record<string, SafeTensor> = Object.fromEntries(
  Object.entries(params).map(([name, v]) => [name, { dtype: 'F32' as const, shape: v.shape, data: v.dataSync() as Float32Array }]),
);
tf.dispose(Object.values(params));
const session = await ort.InferenceSession.create(onnxModel(weights, cfg.model, cfg.data, {}), {
  executionProviders: ['cpu'],
  intraOpNumThreads: threads,
  interOpNumThreads: 1,
  executionMode: 'sequential',
  graphOptimizationLevel: 'all',
});
const [input] = session.inputNames;

/** A batch of raw pixels 0–255, NCHW at the data's side (the graph normalises and resizes). */
function pixels(n: number): ort.Tensor {
  const data = new Float32Array(n * CHANNELS * IMAGE_SIZE * IMAGE_SIZE);
  let seed = 1;
  for (let i = 0; i < data.length; i++) data[i] = (seed = (seed * 1103515245 + 12345) % 2 ** 31) % 256;
  return new ort.Tensor('float32', data, [n, CHANNELS, IMAGE_SIZE, IMAGE_SIZE]);
}

/** Milliseconds of each of `count` runs on `feed`, after `warmup` untimed ones. */
async function times(feed: ort.Tensor, count: number): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await session.run({ [input]: feed });
  const ms: number[] = [];
  for (let i = 0; i < count; i++) {
    const start = performance.now();
    await session.run({ [input]: feed });
    ms.push(performance.now() - start);
  }
  return ms;
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const batchMs = mean(await times(pixels(batch), steps));
// Latency: one image at a time, as a service sees it; the median of more runs, since each is short.
const latencyMs = median(await times(pixels(1), Math.max(steps, 5) * 5));
const flops = forwardFlops(cfg.model);
const result = {
  backend: `onnxruntime-node ${ort.env.versions.common} cpu`,
  threads,
  batch,
  steps,
  model: modelName(cfg.model),
  flops_per_image: flops,
  infer_ms_per_batch: batchMs,
  infer_images_per_second: (batch * 1000) / batchMs,
  infer_gflops: (flops * batch) / batchMs / 1e6,
  infer_latency_ms: latencyMs,
  peak_rss_mb: process.resourceUsage().maxRSS / 1024,
};
await session.release();
if (values.json) console.log(JSON.stringify(result));
else {
  console.log(`${result.model} on ${result.backend}, ${threads} threads`);
  console.log(`inference ${result.infer_images_per_second.toFixed(1)} img/s at batch ${batch} (${batchMs.toFixed(1)} ms/batch), ${latencyMs.toFixed(2)} ms at batch 1, peak RSS ${result.peak_rss_mb.toFixed(0)} MB`);
}
