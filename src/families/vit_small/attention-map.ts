import * as tf from '@tensorflow/tfjs';
import { rearrange, reduce } from '../../einops/index.js';
import type { Params } from '../../layers/params.js';
import type { TokenMaps } from '../family.js';
import type { VitSmallConfig } from './config.js';
import { vitSmallForward } from './model.js';

/**
 * Attention rollout (Abnar & Zuidema 2020), as for the ViT (vit/attention-map.ts): each block's
 * head-averaged attention with the residual counted as an identity half, Â = ½A + ½I, multiplied
 * through the depth, read from the query the head pools (the cls token, or the mean over tokens)
 * and renormalised over the patches. LSA's diagonal is 0, so a token's own share comes only from ½I.
 */
export function attentionRollout(params: Params, cfg: VitSmallConfig, images: tf.Tensor4D): TokenMaps {
  const captured: tf.Tensor[] = [];
  try {
    return tf.tidy(() => {
      tf.dispose(vitSmallForward(params, cfg, images, { training: false, captureAttention: captured }));
      const tokens = captured[0].shape[2]!;
      const half = tf.mul(tf.eye(tokens), 0.5);
      let rollout: tf.Tensor | null = null;
      for (const attention of captured) {
        const mixed = tf.add(tf.mul(reduce(attention, 'b h n m -> b n m', 'mean'), 0.5), half);
        rollout = rollout ? tf.matMul(mixed, rollout) : mixed;
      }
      const row = pooledQueryRow(rollout!, cfg, 'b n m -> b m');
      const weights = tf.div(row, tf.sum(row, -1, true)) as tf.Tensor2D;
      const perHead = captured.map((attention) => pooledQueryRow(attention, cfg, 'b h n m -> b h m'));
      return { weights, heads: rearrange<tf.Tensor4D>(tf.stack(perHead), 'l b h m -> b l h m') };
    });
  } finally {
    tf.dispose(captured);
  }
}

/** The attention row of the pooled query (row 0 for cls, the mean row otherwise), patch columns only. */
function pooledQueryRow(attention: tf.Tensor, cfg: VitSmallConfig, meanPattern: string): tf.Tensor {
  const shape = attention.shape;
  const queryAxis = attention.rank - 2;
  const rows = cfg.pool === 'cls' ? tf.slice(attention, shape.map(() => 0), shape.map((s, i) => (i === queryAxis ? 1 : s))) : attention;
  const row = reduce(rows, meanPattern, 'mean');
  const last = row.rank - 1;
  return tf.slice(row, row.shape.map((_, i) => (i === last ? 1 : 0)), row.shape.map((s, i) => (i === last ? s - 1 : s)));
}
