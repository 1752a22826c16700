import * as tf from '@tensorflow/tfjs';
import { rearrange, reduce } from '../../einops/index.js';
import type { Params } from '../../layers/params.js';
import type { TokenMaps } from '../family.js';
import type { VitConfig } from './config.js';
import { vitForward } from './model.js';

/**
 * Attention rollout (Abnar & Zuidema 2020): each block's head-averaged attention, with the
 * residual connection counted as an identity half, Â = ½A + ½I, multiplied through the depth,
 * R = Â_L ··· Â_1, read from the query the head pools (the cls token, or all tokens for mean
 * pooling) and renormalized over the patches.
 */
export function attentionRollout(params: Params, cfg: VitConfig, images: tf.Tensor4D): TokenMaps {
  const captured: tf.Tensor[] = [];
  try {
    return tf.tidy(() => {
      tf.dispose(vitForward(params, cfg, images, { training: false, captureAttention: captured }));
      const tokens = captured[0].shape[2]!;
      const half = tf.mul(tf.eye(tokens), 0.5);
      let rollout: tf.Tensor | null = null;
      for (const attention of captured) {
        const mixed = tf.add(tf.mul(reduce(attention, 'b h n m -> b n m', 'mean'), 0.5), half);
        rollout = rollout ? tf.matMul(mixed, rollout) : mixed;
      }
      const weights = renormalize(pooledQueryRow(rollout!, cfg, 'b n m -> b m'));
      const perHead = captured.map((attention) => pooledQueryRow(attention, cfg, 'b h n m -> b h m'));
      const heads = rearrange<tf.Tensor4D>(tf.stack(perHead), 'l b h m -> b l h m');
      return { weights: weights as tf.Tensor2D, heads };
    });
  } finally {
    tf.dispose(captured);
  }
}

/** The attention row of the query the head reads (cls, or the mean over tokens), patch columns only. */
function pooledQueryRow(attention: tf.Tensor, cfg: VitConfig, meanPattern: string): tf.Tensor {
  const rank = attention.rank;
  const rows = cfg.pool === 'cls' ? sliceAxis(attention, rank - 2, 0, 1) : attention;
  const row = reduce(rows, meanPattern, 'mean');
  return sliceAxis(row, row.rank - 1, 1, row.shape[row.rank - 1]! - 1);
}

function sliceAxis(x: tf.Tensor, axis: number, begin: number, size: number): tf.Tensor {
  const begins = x.shape.map((_, i) => (i === axis ? begin : 0));
  const sizes = x.shape.map((s, i) => (i === axis ? size : s));
  return tf.slice(x, begins, sizes);
}

function renormalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.sum(x, -1, true));
}
