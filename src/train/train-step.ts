import * as tf from '@tensorflow/tfjs';
import { type ModelConfig, type Params, modelForward } from '../model/index.js';
import { countCorrect, crossEntropy } from './loss.js';
import type { Optimizer } from './optimizer.js';
import { freeBackwardMemoryEarly } from './backward-memory.js';

freeBackwardMemoryEarly();

export interface StepResult {
  loss: number;
  correct: number;
  gradNorm: number;
}

/**
 * One optimizer step: forward, loss, gradients, update. Gradients are taken of the parameters the
 * optimizer trains only (a frozen one is used, never differentiated); buffers (BatchNorm's
 * running statistics) take the values the forward pass reported, after the update. Everything it
 * allocates is freed before it returns (a test checks the tensor count stays flat over many steps).
 */
export async function trainStep(
  params: Params,
  model: ModelConfig,
  optimizer: Optimizer,
  batch: { x: tf.Tensor4D; y: tf.Tensor1D; targets?: tf.Tensor2D },
  opts: { lr: number; labelSmoothing: number; seed: number },
): Promise<StepResult> {
  let correct!: tf.Scalar;
  const bufferUpdates: Record<string, tf.Tensor> = {};
  const { value: loss, grads } = tf.variableGrads(() => {
    const logits = modelForward(params, model, batch.x, { training: true, seed: opts.seed, bufferUpdates });
    if (!batch.targets) {
      correct = tf.keep(countCorrect(logits, batch.y));
      return crossEntropy(logits, batch.y, opts.labelSmoothing);
    }
    // Mixed batches (mixup/cutmix): the soft targets already hold the label smoothing, as in timm,
    // and a prediction counts as correct when it is the label with the larger weight.
    correct = tf.keep(countCorrect(logits, tf.argMax(batch.targets, 1)));
    return crossEntropy(logits, batch.targets, 0);
  }, Object.values(optimizer.params));
  // variableGrads keys gradients by tf.Variable.name; the optimizer wants our parameter names.
  const named = Object.fromEntries(Object.entries(optimizer.params).map(([name, v]) => [name, grads[v.name]]));
  const gradNorm = optimizer.step(named, opts.lr);
  tf.dispose(grads);
  for (const [name, value] of Object.entries(bufferUpdates)) params[name].assign(value);
  tf.dispose(Object.values(bufferUpdates));
  const [lossValue, correctValue, normValue] = await Promise.all([loss.data(), correct.data(), gradNorm.data()]);
  tf.dispose([loss, correct, gradNorm]);
  return { loss: lossValue[0], correct: correctValue[0], gradNorm: normValue[0] };
}
