import * as tf from '@tensorflow/tfjs';
import { rearrange, reduce } from '../../einops/index.js';
import type { Params } from '../../layers/params.js';
import type { TokenMaps } from '../family.js';
import type { SimpleVitConfig } from './config.js';
import { simpleVitForward } from './model.js';

/**
 * Attention rollout (Abnar & Zuidema 2020), as for the ViT (src/families/vit/attention-map.ts):
 * R = Â_L ··· Â_1 with Â = ½·(head-mean attention) + ½·I for the residual. SimpleViT's head reads
 * the mean of all tokens, so the map is R's rows averaged (every token is a patch, nothing is cut),
 * renormalised; `heads` are each layer's and head's attention rows averaged likewise.
 */
export function simpleVitRollout(params: Params, cfg: SimpleVitConfig, images: tf.Tensor4D): TokenMaps {
  const captured: tf.Tensor[] = [];
  try {
    return tf.tidy(() => {
      tf.dispose(simpleVitForward(params, cfg, images, { training: false, captureAttention: captured }));
      const half = tf.mul(tf.eye(captured[0].shape[2]!), 0.5);
      let rollout: tf.Tensor | null = null;
      for (const attention of captured) {
        const mixed = tf.add(tf.mul(reduce(attention, 'b h n m -> b n m', 'mean'), 0.5), half);
        rollout = rollout ? tf.matMul(mixed, rollout) : mixed;
      }
      const pooled = reduce(rollout!, 'b n m -> b m', 'mean');
      const weights = tf.div(pooled, tf.sum(pooled, -1, true)) as tf.Tensor2D;
      const perHead = captured.map((attention) => reduce(attention, 'b h n m -> b h m', 'mean'));
      return { weights, heads: rearrange<tf.Tensor4D>(tf.stack(perHead), 'l b h m -> b l h m') };
    });
  } finally {
    tf.dispose(captured);
  }
}
