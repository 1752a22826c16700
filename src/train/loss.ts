import * as tf from '@tensorflow/tfjs';

/**
 * Softmax cross-entropy from logits [batch, K], averaged over the batch, with PyTorch's label
 * smoothing (`CrossEntropyLoss(label_smoothing=ε)`): the target becomes (1 − ε)·target + ε/K.
 * Targets are class indices (int32 [batch]) or probability rows ([batch, K], for mixup/cutmix).
 * tfjs's op works through logSumExp and has softmax − target as its gradient, so large logits
 * neither overflow nor lose precision.
 */
export function crossEntropy(logits: tf.Tensor2D, targets: tf.Tensor1D | tf.Tensor2D, labelSmoothing = 0): tf.Scalar {
  return tf.tidy(() => {
    // oneHot's own dtype argument is not honoured by tfjs-backend-wasm 4.22 (it writes int32 bits
    // into a float32 tensor), so build it as int32 and cast.
    const probabilities = targets.rank === 1 ? tf.cast(tf.oneHot(targets, logits.shape[1]), 'float32') : targets;
    return tf.losses.softmaxCrossEntropy(probabilities, logits, undefined, labelSmoothing, tf.Reduction.MEAN);
  });
}

/** How many rows have their highest logit at their label: an int32 scalar, summed on the device. */
export function countCorrect(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => tf.sum(tf.equal(tf.argMax(logits, 1), labels)));
}
