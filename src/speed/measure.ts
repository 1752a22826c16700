import * as tf from '@tensorflow/tfjs';
import { computeSetup } from '../backend/index.js';
import type { Config } from '../config/schema.js';
import { IMAGE_SIZE } from '../data/cifar10.js';
import { countParams, forwardFlops, initParams, modelForward, modelName, type Params } from '../model/index.js';
import { Optimizer } from '../train/optimizer.js';
import { sgemmPeak } from './peak.js';
import { trainStep } from '../train/train-step.js';

export interface BenchOptions {
  batch: number;
  /** Timed steps (and timed inference batches). */
  steps: number;
  /** Untimed steps first: kernel compilation, heap growth and JIT happen there. */
  warmup: number;
  /** Measure the SGEMM peak again instead of reading it from the cache (peak.ts). */
  remeasurePeak?: boolean;
}

/** The figures `vit bench --json` prints; bench/pytorch_reference.py prints the same keys. */
export interface BenchResult {
  backend: string;
  /** What computed the products, and on how many threads (src/backend's ComputeSetup). */
  gemm: string;
  threads: number;
  batch: number;
  steps: number;
  /** What people call the model ("ViT", "ResNet-18", …). */
  model: string;
  params: number;
  /** Forward FLOPs per image (2 · multiply-accumulates of the products), as the GFLOP/s count them. */
  flops_per_image: number;
  train_ms_per_step: number;
  train_images_per_second: number;
  train_gflops: number;
  infer_ms_per_batch: number;
  infer_images_per_second: number;
  infer_gflops: number;
  /** Milliseconds to classify one image alone (batch 1): the median of many, what a service waits. */
  infer_latency_ms: number;
  peak_rss_mb: number;
  /** The machine's SGEMM peak (peak.ts: the best GEMM it has, on these threads), what reached it, and the model-FLOPs utilisation against it. */
  peak_gflops: number;
  peak_gemm: string;
  peak_cached: boolean;
  train_mfu: number;
  infer_mfu: number;
  /** Live tensors after the warm-up and after the timed steps: equal when nothing leaks. */
  tensors_after_warmup: number;
  tensors_after_steps: number;
}

/**
 * Times full training steps (forward, loss, backward, optimizer update: the trainer's own
 * `trainStep`, which waits for the loss, so each step is complete when it returns) and inference
 * passes, on random batches of the real shape. Training costs ≈ 3× the forward FLOPs (see
 * docs/performance.md for the count); MFU is those FLOP/s over the machine's SGEMM peak.
 */
export async function measure(cfg: Config, backend: string, opts: BenchOptions): Promise<BenchResult> {
  const model = cfg.model;
  const params = initParams(model, cfg.seed);
  const optimizer = Optimizer.forModel(params, cfg);
  // At the data's side: with data.resize, the 32×32 images are resized in the forward pass, timed too.
  const batch = randomBatch(opts.batch, cfg.data.resize ? IMAGE_SIZE : model.image_size, model.num_classes);
  try {
    const step = (i: number) =>
      trainStep(params, model, optimizer, batch, { lr: cfg.optimizer.lr, labelSmoothing: cfg.train.label_smoothing, seed: i + 1 });
    for (let i = 0; i < opts.warmup; i++) await step(i);
    const tensorsAfterWarmup = tf.memory().numTensors;
    const trainMs = await timed(opts.steps, step);
    const tensorsAfterSteps = tf.memory().numTensors;

    const infer = () => inference(params, cfg, batch.x);
    for (let i = 0; i < opts.warmup; i++) await infer();
    const inferMs = await timed(opts.steps, infer);
    const latencyMs = await batchOneLatency(params, cfg, batch.x, opts);

    const flopsPerImage = forwardFlops(model);
    const perSecond = (ms: number) => (opts.batch * 1000) / ms;
    const { gemm, threads } = computeSetup(backend);
    // Read before the peak's large products, which would add their buffers to it.
    const peakRssMb = process.resourceUsage().maxRSS / 1024;
    const peak = await sgemmPeak(backend, { remeasure: opts.remeasurePeak });
    const trainGflops = (3 * flopsPerImage * perSecond(trainMs)) / 1e9;
    const inferGflops = (flopsPerImage * perSecond(inferMs)) / 1e9;
    return {
      backend,
      gemm,
      threads,
      batch: opts.batch,
      steps: opts.steps,
      model: modelName(model),
      params: countParams(model),
      flops_per_image: flopsPerImage,
      train_ms_per_step: trainMs,
      train_images_per_second: perSecond(trainMs),
      train_gflops: trainGflops,
      infer_ms_per_batch: inferMs,
      infer_images_per_second: perSecond(inferMs),
      infer_gflops: inferGflops,
      infer_latency_ms: latencyMs,
      peak_rss_mb: peakRssMb,
      peak_gflops: peak.gflops,
      peak_gemm: peak.gemm,
      peak_cached: peak.cached,
      train_mfu: trainGflops / peak.gflops,
      infer_mfu: inferGflops / peak.gflops,
      tensors_after_warmup: tensorsAfterWarmup,
      tensors_after_steps: tensorsAfterSteps,
    };
  } finally {
    optimizer.dispose();
    tf.dispose([...Object.values(params), batch.x, batch.y]);
  }
}

/** Mean milliseconds per call of `run(i)` over `count` calls. */
async function timed(count: number, run: (i: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < count; i++) await run(i);
  return (performance.now() - start) / count;
}

async function inference(params: Params, cfg: Config, images: tf.Tensor4D): Promise<void> {
  const logits = modelForward(params, cfg.model, images, { training: false });
  await logits.data();
  logits.dispose();
}

/** The median milliseconds of a forward pass on the batch's first image alone, over 5× the timed steps (each is short). */
async function batchOneLatency(params: Params, cfg: Config, images: tf.Tensor4D, opts: BenchOptions): Promise<number> {
  const one = tf.slice(images, 0, 1);
  try {
    for (let i = 0; i < opts.warmup; i++) await inference(params, cfg, one);
    const ms: number[] = [];
    for (let i = 0; i < Math.max(opts.steps, 5) * 5; i++) ms.push(await timed(1, () => inference(params, cfg, one)));
    return ms.sort((a, b) => a - b)[Math.floor(ms.length / 2)];
  } finally {
    one.dispose();
  }
}

/** Normalised-looking pixels and uniform labels; the values do not matter for speed. */
function randomBatch(size: number, imageSize: number, classes: number): { x: tf.Tensor4D; y: tf.Tensor1D } {
  return tf.tidy(() => ({
    x: tf.randomNormal([size, imageSize, imageSize, 3], 0, 1, 'float32', 1) as tf.Tensor4D,
    y: tf.randomUniform([size], 0, classes, 'int32', 2) as tf.Tensor1D,
  }));
}
