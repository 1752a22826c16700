import * as tf from '@tensorflow/tfjs';
import type { Config } from '../config/schema.js';
import { IMAGE_SIZE } from '../data/cifar10.js';
import { initParams } from '../model/index.js';
import { Optimizer } from '../train/optimizer.js';
import { trainStep } from '../train/train-step.js';

export interface KernelShare {
  kernel: string;
  calls: number;
  ms: number;
  /** Share of the step's wall time (the rest is JS overhead between kernels). */
  percent: number;
}

/**
 * Per-kernel time of one training step (after one warm-up step), from tf.profile, largest first.
 * Kernel times of synchronous backends (cpu, wasm) are exact; on GPUs they include queueing.
 */
export async function profileStep(cfg: Config, batchSize: number): Promise<{ stepMs: number; kernels: KernelShare[] }> {
  const params = initParams(cfg.model, cfg.seed);
  const optimizer = Optimizer.forModel(params, cfg);
  // At the data's side: with data.resize, the 32×32 images are resized in the forward pass, as in training.
  const side = cfg.data.resize ? IMAGE_SIZE : cfg.model.image_size;
  const batch = tf.tidy(() => ({
    x: tf.randomNormal([batchSize, side, side, 3], 0, 1, 'float32', 1) as tf.Tensor4D,
    y: tf.randomUniform([batchSize], 0, cfg.model.num_classes, 'int32', 2) as tf.Tensor1D,
  }));
  const step = () => trainStep(params, cfg.model, optimizer, batch, { lr: cfg.optimizer.lr, labelSmoothing: 0, seed: 1 });
  try {
    await step();
    const start = performance.now();
    const info = await tf.profile(async () => {
      await step();
      return [];
    });
    const stepMs = performance.now() - start;
    const byKernel = new Map<string, { calls: number; ms: number }>();
    // A custom-gradient op's forward is listed as one 'unnamed scope' entry besides its own kernels.
    for (const k of info.kernels.filter((k) => k.name !== 'unnamed scope')) {
      const entry = byKernel.get(k.name) ?? { calls: 0, ms: 0 };
      entry.calls += 1;
      entry.ms += k.kernelTimeMs as number;
      byKernel.set(k.name, entry);
    }
    const kernels = [...byKernel].map(([kernel, e]) => ({ kernel, ...e, percent: (100 * e.ms) / stepMs }));
    return { stepMs, kernels: kernels.sort((x, y) => y.ms - x.ms) };
  } finally {
    optimizer.dispose();
    tf.dispose([...Object.values(params), batch.x, batch.y]);
  }
}
