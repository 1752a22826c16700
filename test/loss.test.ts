import * as tf from '@tensorflow/tfjs';
import assert from 'node:assert/strict';
import '@tensorflow/tfjs-backend-wasm';
import { before, describe, test } from 'node:test';
import { countCorrect, crossEntropy } from '../src/train/loss.js';


function assertClose(actual: ArrayLike<number>, expected: number[], tolerance = 1e-6): void {
  const xs = Array.from(actual);
  assert.equal(xs.length, expected.length);
  xs.forEach((x, i) => assert.ok(Math.abs(x - expected[i]) <= tolerance, `[${xs}] vs [${expected}]`));
}

/** The loss of `targets` (int labels or probability rows) against `logits`, as a number. */
function lossOf(logits: number[][], targets: number[] | number[][], labelSmoothing = 0): number {
  return tf.tidy(() => {
    const t = Array.isArray(targets[0]) ? tf.tensor2d(targets as number[][]) : tf.tensor1d(targets as number[], 'int32');
    return crossEntropy(tf.tensor2d(logits), t, labelSmoothing).dataSync()[0];
  });
}

// Row [1, 2, 3]: logSumExp = 3.40760596, log-probabilities [-2.40760596, -1.40760596, -0.40760596].
// Row [1, 1, 1]: every log-probability is -log 3 = -1.09861229.
const logits = [
  [1, 2, 3],
  [1, 1, 1],
];

// wasm too: its OneHot kernel once ignored the float32 dtype and turned every loss into garbage.
for (const backend of ['cpu', 'wasm']) {
  describe(backend, () => {
    before(async () => {
      await tf.setBackend(backend);
    });

  test('hand-computed values, with and without label smoothing', () => {
    // ε = 0: mean(0.40760596, 1.09861229)
    assertClose([lossOf(logits, [2, 0])], [0.75310912]);
    // ε = 0.3, K = 3: target row 1 = [0.1, 0.1, 0.8]:
    // 0.1·2.40760596 + 0.1·1.40760596 + 0.8·0.40760596 = 0.70760596; row 2 is still log 3.
    assertClose([lossOf(logits, [2, 0], 0.3)], [(0.70760596 + 1.09861229) / 2]);
  });

  test('label smoothing 0 is plain cross-entropy, −mean log softmax[label]', () => {
    const random = tf.tidy(() => tf.randomNormal([6, 10], 0, 3, 'float32', 5).arraySync() as number[][]);
    const labels = [0, 3, 9, 9, 4, 1];
    const plain =
      random.map((row, i) => Math.log(row.reduce((s, x) => s + Math.exp(x), 0)) - row[labels[i]]).reduce((s, x) => s + x, 0) /
      labels.length;
    assertClose([lossOf(random, labels)], [plain], 1e-5);
  });

  test('soft targets: one-hot rows equal integer labels; a mixed row averages', () => {
    const oneHot = [
      [0, 0, 1],
      [1, 0, 0],
    ];
    assertClose([lossOf(logits, oneHot, 0.1)], [lossOf(logits, [2, 0], 0.1)]);
    // Row 1 half class 0, half class 1: 0.5·2.40760596 + 0.5·1.40760596
    const mixed = [
      [0.5, 0.5, 0],
      [1, 0, 0],
    ];
    assertClose([lossOf(logits, mixed)], [(1.90760596 + 1.09861229) / 2]);
  });

  test('extreme logits give finite, exact values', () => {
    const extreme = [[1000, 0, -1000]];
    assertClose([lossOf(extreme, [0])], [0]);
    assertClose([lossOf(extreme, [1])], [1000], 1e-3);
  });

  test('the gradient is (softmax − smoothed target) / batch', () => {
    const eps = 0.2;
    const grad = tf.tidy(() => {
      const labels = tf.tensor1d([2, 0], 'int32');
      return tf.grad((l: tf.Tensor) => crossEntropy(l as tf.Tensor2D, labels, eps))(tf.tensor2d(logits)).arraySync() as number[][];
    });
    const softmax = logits.map((row) => {
      const e = row.map(Math.exp);
      const sum = e.reduce((s, x) => s + x, 0);
      return e.map((x) => x / sum);
    });
    const targets = [
      [eps / 3, eps / 3, 1 - eps + eps / 3],
      [1 - eps + eps / 3, eps / 3, eps / 3],
    ];
    grad.forEach((row, i) => assertClose(row, softmax[i].map((p, k) => (p - targets[i][k]) / 2)));
  });

  test('countCorrect counts rows whose largest logit is at the label', () => {
    const correct = tf.tidy(() => {
      const scores = tf.tensor2d([
        [0.1, 0.9, 0],
        [2, 1, 0],
        [0, 0, 5],
        [0.3, 0.2, 0.1],
      ]);
      return countCorrect(scores, tf.tensor1d([1, 0, 1, 2], 'int32')).dataSync()[0];
    });
    assert.equal(correct, 2);
  });

  test('neither function leaves tensors behind but its result', () => {
    const l = tf.tensor2d(logits);
    const y = tf.tensor1d([2, 0], 'int32');
    const soft = tf.tensor2d([
      [0, 0.5, 0.5],
      [1, 0, 0],
    ]);
    const before = tf.memory().numTensors;
    const results = [crossEntropy(l, y, 0.1), crossEntropy(l, soft, 0.1), countCorrect(l, y)];
    assert.equal(tf.memory().numTensors, before + results.length);
    tf.dispose([l, y, soft, ...results]);
  });
  });
}
