import * as tf from '@tensorflow/tfjs';
import { rearrange, reduce } from '../../einops/index.js';
import type { Params } from '../../layers/params.js';
import type { TokenMaps } from '../family.js';
import type { CaitConfig } from './config.js';
import { caitForward } from './model.js';

/**
 * Where the cls token looks: the last class-attention block's softmax probabilities from the cls
 * query to the patches, averaged over the heads and renormalised over the patches (the cls
 * column left out). The probabilities before the talking-heads mix after the softmax, which,
 * with its signed weights, need not be positive. `heads`: every class block's per-head rows.
 */
export function classAttentionMap(params: Params, cfg: CaitConfig, images: tf.Tensor4D): TokenMaps {
  const captured: tf.Tensor[] = [];
  try {
    return tf.tidy(() => {
      tf.dispose(caitForward(params, cfg, images, { training: false, captureAttention: captured }));
      const rows = captured.map((attention) => {
        const row = rearrange(attention, 'b h 1 m -> b h m');
        return tf.slice(row, [0, 0, 1], [-1, -1, row.shape[2]! - 1]); // the patches' columns
      });
      const last = reduce(rows[rows.length - 1], 'b h m -> b m', 'mean');
      const weights = tf.div(last, tf.sum(last, -1, true)) as tf.Tensor2D;
      return { weights, heads: rearrange<tf.Tensor4D>(tf.stack(rows), 'l b h m -> b l h m') };
    });
  } finally {
    tf.dispose(captured);
  }
}
