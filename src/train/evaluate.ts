import * as tf from '@tensorflow/tfjs';
import type { ModelConfig, Tta } from '../config/schema.js';
import { evalBatches, toTensors } from '../data/batches.js';
import type { Split } from '../data/cifar10.js';
import { type Params, evalLogits } from '../model/family.js';
import { crossEntropy } from './loss.js';

export interface Evaluation {
  loss: number;
  accuracy: number;
  /** Predicted class per image, in split order. */
  predictions: Int32Array;
}

/**
 * Loss (plain cross-entropy, no label smoothing, so it is comparable across recipes) and accuracy
 * over a whole split, in order, without training augmentation or dropout; `tta` as in
 * `train.eval_tta`.
 */
export async function evaluate(params: Params, model: ModelConfig, split: Split, batchSize: number, tta: Tta = 'none'): Promise<Evaluation> {
  const predictions = new Int32Array(split.count);
  let lossSum = 0;
  let offset = 0;
  for (const batch of evalBatches(split, batchSize)) {
    const { x, y } = toTensors(batch);
    const [loss, predicted] = tf.tidy(() => {
      const logits = evalLogits(params, model, x, tta);
      return [crossEntropy(logits, y, 0), tf.argMax(logits, 1)];
    });
    const [lossValue, predictedValues] = await Promise.all([loss.data(), predicted.data()]);
    tf.dispose([x, y, loss, predicted]);
    lossSum += lossValue[0] * batch.size;
    predictions.set(predictedValues, offset);
    offset += batch.size;
  }
  let correct = 0;
  for (let i = 0; i < split.count; i++) if (predictions[i] === split.labels[i]) correct++;
  return { loss: lossSum / split.count, accuracy: correct / split.count, predictions };
}
