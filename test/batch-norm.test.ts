import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { BATCH_NORM_EPS, batchNorm } from '../src/layers/batch-norm.js';
import { Rng } from '../src/util/rng.js';

/**
 * BatchNorm1d on rows [n, c], against PyTorch's definition written out in float64: training
 * normalises by the batch's mean and biased variance and moves the running statistics by momentum
 * 0.1 towards the mean and the unbiased variance, counting the batch; evaluation normalises by the
 * running statistics. (BatchNorm2d is the same layer over NHWC, checked against PyTorch itself in
 * test/pytorch-import.test.ts and test/families.test.ts.)
 */
const N = 6;
const C = 3;

before(async () => {
  await tf.setBackend('cpu');
});

function close(actual: ArrayLike<number>, expected: number[], what: string): void {
  expected.forEach((e, i) => assert.ok(Math.abs(actual[i] - e) <= 1e-5 * Math.max(1, Math.abs(e)), `${what}[${i}]: ${actual[i]} vs ${e}`));
}

test('BatchNorm1d on [n, c]: batch statistics in training, running ones updated as PyTorch does; running statistics in evaluation', () => {
  const rng = new Rng(3);
  const rows = Array.from({ length: N }, () => Array.from({ length: C }, () => rng.uniform(-2, 3)));
  const weight = [1.5, -0.5, 2];
  const bias = [0.1, 0.2, -0.3];
  const runningMean = [0.2, -0.1, 0.4];
  const runningVar = [1.2, 0.7, 2.5];
  const vars: Record<string, tf.Variable> = {
    'bn.weight': tf.variable(tf.tensor(weight)),
    'bn.bias': tf.variable(tf.tensor(bias)),
    'bn.running_mean': tf.variable(tf.tensor(runningMean)),
    'bn.running_var': tf.variable(tf.tensor(runningVar)),
    'bn.num_batches_tracked': tf.variable(tf.scalar(4)),
  };
  const x = tf.tensor2d(rows);
  const updates: Record<string, tf.Tensor> = {};
  const trained = batchNorm(x, (name) => vars[name], 'bn', 'none', { training: true, bufferUpdates: updates });
  const evaluated = batchNorm(x, (name) => vars[name], 'bn', 'none', { training: false });

  const column = (c: number) => rows.map((r) => r[c]);
  const mean = [0, 1, 2].map((c) => column(c).reduce((a, b) => a + b, 0) / N);
  const biased = [0, 1, 2].map((c) => column(c).reduce((a, v) => a + (v - mean[c]) ** 2, 0) / N);
  const expectTrain = rows.flatMap((r) => r.map((v, c) => ((v - mean[c]) / Math.sqrt(biased[c] + BATCH_NORM_EPS)) * weight[c] + bias[c]));
  const expectEval = rows.flatMap((r) => r.map((v, c) => ((v - runningMean[c]) / Math.sqrt(runningVar[c] + BATCH_NORM_EPS)) * weight[c] + bias[c]));
  assert.deepEqual(trained.shape, [N, C]);
  close(trained.dataSync(), expectTrain, 'training output');
  close(evaluated.dataSync(), expectEval, 'evaluation output');
  close(updates['bn.running_mean'].dataSync(), runningMean.map((m, c) => 0.9 * m + 0.1 * mean[c]), 'running_mean');
  close(updates['bn.running_var'].dataSync(), runningVar.map((v, c) => 0.9 * v + 0.1 * biased[c] * (N / (N - 1))), 'running_var (unbiased)');
  assert.equal(updates['bn.num_batches_tracked'].dataSync()[0], 5);
  tf.dispose([x, trained, evaluated, ...Object.values(updates), ...Object.values(vars)]);
});
