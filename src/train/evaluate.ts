import * as tf from '@tensorflow/tfjs';
import type { Tta } from '../config/schema.js';
import { evalBatches, toTensors } from '../data/batches.js';
import type { Split } from '../data/cifar10.js';
import { CIFAR10_NORMALIZATION } from '../data/normalize.js';
import { type ModelConfig, type Params, evalLogits } from '../model/index.js';
import { crossEntropy } from './loss.js';

export interface Evaluation {
  loss: number;
  accuracy: number;
  /** Predicted class per image, in split order. */
  predictions: Int32Array;
  /** Each image's logits (with the TTA's views averaged), [count × classes] row by row. */
  logits: Float32Array;
}

export interface EvaluateOptions {
  batchSize: number;
  /** As `train.eval_tta` (default 'none'). */
  tta?: Tta;
  /** The images' normalisation, the run's `data.mean`/`data.std` (default CIFAR-10's). */
  normalization?: Float32Array;
}

/**
 * Loss (plain cross-entropy, no label smoothing, so it is comparable across recipes) and accuracy
 * over a whole split, in order, without training augmentation or dropout.
 */
export async function evaluate(params: Params, model: ModelConfig, split: Split, opts: EvaluateOptions): Promise<Evaluation> {
  const predictions = new Int32Array(split.count);
  const logits = new Float32Array(split.count * model.num_classes);
  let lossSum = 0;
  let offset = 0;
  for (const batch of evalBatches(split, opts.batchSize, opts.normalization ?? CIFAR10_NORMALIZATION)) {
    const { x, y } = toTensors(batch);
    const [batchLogits, loss, predicted] = tf.tidy(() => {
      const out = evalLogits(params, model, x, opts.tta ?? 'none');
      return [out, crossEntropy(out, y, 0), tf.argMax(out, 1)];
    });
    const [logitValues, lossValue, predictedValues] = await Promise.all([batchLogits.data(), loss.data(), predicted.data()]);
    tf.dispose([x, y, batchLogits, loss, predicted]);
    lossSum += lossValue[0] * batch.size;
    predictions.set(predictedValues, offset);
    logits.set(logitValues as Float32Array, offset * model.num_classes);
    offset += batch.size;
  }
  let correct = 0;
  for (let i = 0; i < split.count; i++) if (predictions[i] === split.labels[i]) correct++;
  return { loss: lossSum / split.count, accuracy: correct / split.count, predictions, logits };
}
