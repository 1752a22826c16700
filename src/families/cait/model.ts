import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { rearrange, repeat } from '../../einops/index.js';
import { type Dropout, seededDropout } from '../../layers/dropout.js';
import { layerNorm } from '../../layers/layer-norm.js';
import { linear } from '../../layers/linear.js';
import { mlp } from '../../layers/mlp.js';
import { type Params, paramOf } from '../../layers/params.js';
import { addToEachSample, residualAdd } from '../../layers/residual.js';
import { Rng } from '../../util/rng.js';
import type { ForwardOptions } from '../family.js';
import { talkingHeadsAttention } from './attention.js';
import type { CaitConfig } from './config.js';
import { keptBlocks, skippedBlock } from './layer-dropout.js';
import { type Stack, paramShapes, stackDepth } from './params.js';

/**
 * CaiT (Touvron et al. 2021, "Going deeper with Image Transformers") as models/cait.py of
 * kentaroy47/vision-transformers-cifar10 writes it (lucidrains/vit-pytorch's):
 *   patches → Linear → + positions → dropout                      no cls token among them
 *   `depth` patch blocks:        x ← x + γ₁ ⊙ Attn(LN(x)),  x ← x + γ₂ ⊙ MLP(LN(x))
 *   `cls_depth` class blocks:    c ← c + γ₁ ⊙ Attn(LN(c), [LN(c); x]),  c ← c + γ₂ ⊙ MLP(LN(c))
 *   logits = Linear(LN(c))
 * with talking-heads attention (attention.ts), LayerScale factors γ and layer dropout
 * (layer-dropout.ts) in each stack. NHWC [b, s, s, 3] in, logits [b, num_classes] out.
 * Training draws the skipped blocks and every dropout mask from `seed`, so a replayed step is
 * identical. `captureAttention` (evaluation only) receives each class block's probabilities
 * [b, heads, 1, 1 + patches], kept out of the pass's tidy: the caller disposes them.
 */
export function caitForward(
  params: Params,
  cfg: CaitConfig,
  images: tf.Tensor4D,
  opts: ForwardOptions & { captureAttention?: tf.Tensor[] },
): tf.Tensor2D {
  const [b, height, width, channels] = images.shape;
  if (height !== cfg.image_size || width !== cfg.image_size || channels !== CHANNELS) {
    throw new Error(`caitForward: expected images [b, ${cfg.image_size}, ${cfg.image_size}, 3], got [${images.shape}]`);
  }
  const { dropout, layerRng } = passRandomness(opts);
  const p = (name: string) => paramOf(params, name, 'caitForward');
  const names = Object.keys(paramShapes(cfg));

  /** One stack of blocks on x; class-attention blocks also read `context` (the patches). */
  const stack = (x: tf.Tensor, context: tf.Tensor | null, name: Stack): tf.Tensor => {
    const kept = keptBlocks(stackDepth(cfg, name), cfg.layer_dropout, layerRng);
    kept.forEach((keep, i) => {
      const prefix = `${name}.${i}.`;
      // A tidy per block frees what the backward pass does not keep as soon as the block is done.
      const input = x;
      x = keep ? tf.tidy(() => block(input, context, (n) => p(prefix + n))) : skippedBlock(x, names.filter((n) => n.startsWith(prefix)).map(p));
    });
    return x;
  };
  const block = (x: tf.Tensor, context: tf.Tensor | null, w: (name: string) => tf.Variable): tf.Tensor => {
    const capture = context ? opts.captureAttention : undefined;
    const attnIn = layerNorm(x, w('attn.norm.weight'), w('attn.norm.bias'));
    x = residualAdd(x, tf.mul(talkingHeadsAttention(attnIn, context, w, cfg, dropout, capture), w('attn.scale')));
    const mlpIn = layerNorm(x, w('mlp.norm.weight'), w('mlp.norm.bias'));
    return residualAdd(x, tf.mul(mlp(mlpIn, w, cfg.dropout, dropout), w('mlp.scale')));
  };

  return tf.tidy(() => {
    const embedded = addToEachSample(patchEmbedding(params, cfg, images), p('pos_embed'));
    const patches = stack(dropout(embedded, cfg.emb_dropout), null, 'patch_blocks');
    const cls = stack(repeat(p('cls_token'), '1 1 d -> b 1 d', { b }), patches, 'cls_blocks');
    const normed = layerNorm(rearrange(cls, 'b 1 d -> b d'), p('head.norm.weight'), p('head.norm.bias'));
    return linear(normed, p('head.linear.weight'), p('head.linear.bias')) as tf.Tensor2D;
  });
}

/**
 * A training pass's two random streams, both from its seed: which blocks layer dropout skips,
 * and the dropout masks. Evaluation has neither.
 */
function passRandomness(opts: ForwardOptions): { dropout: Dropout; layerRng: Rng | null } {
  if (!opts.training) return { dropout: seededDropout(opts), layerRng: null };
  if (opts.seed === undefined) throw new Error('a training pass needs a seed for its dropout masks');
  const streams = new Rng(opts.seed);
  const layerRng = new Rng(streams.seed());
  return { dropout: seededDropout({ training: true, seed: streams.seed() }), layerRng };
}

/**
 * Cuts each image into patch_size × patch_size patches (left to right, top to bottom), flattens
 * each in (row, column, channel) order, PyTorch's `(p1 p2 c)`, and projects it: [b, patches, dim].
 */
function patchEmbedding(params: Params, cfg: CaitConfig, images: tf.Tensor4D): tf.Tensor {
  const patches = rearrange(images, 'b (h p1) (w p2) c -> b (h w) (p1 p2 c)', { p1: cfg.patch_size, p2: cfg.patch_size });
  return linear(patches, paramOf(params, 'patch_embed.weight', 'caitForward'), paramOf(params, 'patch_embed.bias', 'caitForward'));
}
