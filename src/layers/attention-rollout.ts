import * as tf from '@tensorflow/tfjs';
import { rearrange, reduce } from '../einops/index.js';
import type { TokenMaps } from '../families/family.js';

/** Which query the model's head reads, and whether token 0 is a cls token (not a patch). */
export interface RolloutReadout {
  pool: 'cls' | 'mean';
  clsToken: boolean;
}

/**
 * Attention rollout (Abnar & Zuidema 2020) for the ViT-like families: each block's head-averaged
 * attention, with the residual connection counted as an identity half, Â = ½A + ½I, multiplied
 * through the depth, R = Â_L ··· Â_1, read from the query the head pools (row 0 for a cls token,
 * the mean of all rows for mean pooling), the cls column cut and renormalised over the patches.
 * `heads` are each layer's and head's raw rows read the same way. `forward` runs the model in
 * evaluation, pushing each block's probabilities [b, heads, n, n] into `captured`.
 */
export function attentionRollout(forward: (captured: tf.Tensor[]) => tf.Tensor, readout: RolloutReadout): TokenMaps {
  const captured: tf.Tensor[] = [];
  try {
    return tf.tidy(() => {
      tf.dispose(forward(captured));
      const half = tf.mul(tf.eye(captured[0].shape[2]!), 0.5);
      let rollout: tf.Tensor | null = null;
      for (const attention of captured) {
        const mixed = tf.add(tf.mul(reduce(attention, 'b h n m -> b n m', 'mean'), 0.5), half);
        rollout = rollout ? tf.matMul(mixed, rollout) : mixed;
      }
      const row = pooledQueryRow(rollout!, readout, 'b n m -> b m');
      const weights = tf.div(row, tf.sum(row, -1, true)) as tf.Tensor2D;
      const perHead = captured.map((attention) => pooledQueryRow(attention, readout, 'b h n m -> b h m'));
      return { weights, heads: rearrange<tf.Tensor4D>(tf.stack(perHead), 'l b h m -> b l h m') };
    });
  } finally {
    tf.dispose(captured);
  }
}

/** The attention row of the pooled query (row 0 for cls, the mean row otherwise), patch columns only. */
function pooledQueryRow(attention: tf.Tensor, readout: RolloutReadout, meanPattern: string): tf.Tensor {
  const queryAxis = attention.rank - 2;
  const rows = readout.pool === 'cls' ? sliceAxis(attention, queryAxis, 0, 1) : attention;
  const row = reduce(rows, meanPattern, 'mean');
  const last = row.rank - 1;
  return readout.clsToken ? sliceAxis(row, last, 1, row.shape[last]! - 1) : row;
}

function sliceAxis(x: tf.Tensor, axis: number, begin: number, size: number): tf.Tensor {
  return tf.slice(
    x,
    x.shape.map((_, i) => (i === axis ? begin : 0)),
    x.shape.map((s, i) => (i === axis ? size : s)),
  );
}
