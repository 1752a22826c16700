import * as tf from '@tensorflow/tfjs';
import { DEPTHWISE_CONV } from '../../backend/fused-kernels.js';
import { hasKernel } from '../../backend/kernel-traits.js';
import { CHANNELS } from '../../data/cifar10.js';
import { rearrange } from '../../einops/index.js';
import { type AttentionSettings, selfAttention } from '../../layers/attention.js';
import { batchNorm } from '../../layers/batch-norm.js';
import { conv2d, depthwiseConv2d, globalAveragePool } from '../../layers/conv.js';
import { type Dropout, seededDropout } from '../../layers/dropout.js';
import { layerNorm } from '../../layers/layer-norm.js';
import { linear } from '../../layers/linear.js';
import { type Params, paramOf } from '../../layers/params.js';
import { residualAdd } from '../../layers/residual.js';
import { silu } from '../../layers/silu.js';
import type { ForwardOptions } from '../family.js';
import { type MobileVitBlock, type MobileVitConfig, type Mv2Block, TRANSFORMER, mobileVitBlocks, mv2Blocks } from './config.js';

/** mobilevit.py's transformers: 4 heads of 8, no dropout. */
const ATTENTION: AttentionSettings = { heads: TRANSFORMER.heads, dim_head: TRANSFORMER.dimHead, attn_dropout: 0, dropout: 0 };

type Weights = (name: string) => tf.Variable;

/**
 * MobileViT (Mehta & Rastegari 2022) as kentaroy47/vision-transformers-cifar10 writes it
 * (models/mobilevit.py), every conv without bias and followed by a BatchNorm (CBS: conv → BN → SiLU):
 *   x ← CBS_3×3, stride 2(images)
 *   mv2[0..4], mvit[0], mv2[5], mvit[1], mv2[6], mvit[2]           MV2 and MobileViT blocks
 *   logits = Linear_no bias(mean over positions of CBS_1×1(x))      AvgPool2d(image_size / 32) is that mean
 * NHWC [b, s, s, 3] in, logits [b, num_classes] out.
 */
export function mobileVitForward(params: Params, cfg: MobileVitConfig, images: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D {
  const [, height, width, channels] = images.shape;
  if (height !== cfg.image_size || width !== cfg.image_size || channels !== CHANNELS) {
    throw new Error(`mobileVitForward: expected images [b, ${cfg.image_size}, ${cfg.image_size}, 3], got [${images.shape}]`);
  }
  const p: Weights = (name) => paramOf(params, name, 'mobileVitForward');
  const layers = new Layers(p, opts);
  const mv2 = mv2Blocks(cfg);
  const mvit = mobileVitBlocks(cfg);
  const stages = [...mv2.slice(0, 5), mvit[0], mv2[5], mvit[1], mv2[6], mvit[2]];
  return tf.tidy(() => {
    let x = layers.cbs(images, 'stem.conv', 'stem.norm', 2, true);
    for (const stage of stages) {
      // A tidy per block frees what the backward pass does not keep as soon as the block is done.
      const input = x;
      x = tf.tidy(() => ('hidden' in stage ? layers.mv2(input, stage) : layers.mobileVit(input, stage, cfg.patch_size)));
    }
    x = layers.cbs(x, 'head.conv', 'head.norm');
    return linear(globalAveragePool(x), p('fc.weight')) as tf.Tensor2D;
  });
}

/** The blocks, with the weights and the pass's options (BatchNorm's mode and buffer updates, dropout's seed). */
class Layers {
  private readonly dropout: Dropout;

  constructor(
    private readonly p: Weights,
    private readonly opts: ForwardOptions,
  ) {
    this.dropout = seededDropout(opts);
  }

  /** BatchNorm `norm` (default `<conv>_norm`) of the conv `conv`, then SiLU (fused into it) unless `activate` is false: 1×1 convs as products, k×k with padding (k − 1)/2. */
  cbs(x: tf.Tensor4D, conv: string, norm = `${conv}_norm`, stride = 1, inputIsData = false, activate = true): tf.Tensor4D {
    const weight = this.p(`${conv}.weight`);
    const [k] = weight.shape;
    const convolved = k === 1 && stride === 1 ? pointwise(x, weight) : conv2d(x, weight, stride, (k - 1) / 2, inputIsData);
    return batchNorm(convolved, this.p, norm, activate ? 'silu_after' : 'none', this.opts) as tf.Tensor4D;
  }

  /**
   * MobileNetV2's inverted residual: expand (1×1, to int(in · expansion) channels), filter each
   * channel (3×3 depthwise, with the block's stride), project (1×1, no SiLU: a linear bottleneck);
   * x + that when the stride is 1 and the channels match.
   */
  mv2(x: tf.Tensor4D, block: Mv2Block): tf.Tensor4D {
    const { prefix, stride } = block;
    const expanded = block.expand ? this.cbs(x, `${prefix}.expand`) : x;
    const filtered = stridedDepthwise(expanded, this.p(`${prefix}.depthwise.weight`), stride);
    const hidden = batchNorm(filtered, this.p, `${prefix}.depthwise_norm`, 'silu_after', this.opts) as tf.Tensor4D;
    const projected = this.cbs(hidden, `${prefix}.project`, undefined, 1, false, false);
    return block.residual ? (residualAdd(x, projected) as tf.Tensor4D) : projected;
  }

  /**
   * The MobileViT block: local features (CBS 3×3, then CBS 1×1 to dim), the map cut into P×P
   * patches and a transformer run across the patches, separately for each of the P² positions
   * within a patch ('b (h ph) (w pw) d -> (b ph pw) (h w) d'), folded back, CBS 1×1 back to the
   * channels, concatenated with the block's input (the new channels first, as torch.cat((x, y), 1)),
   * fused by CBS 3×3.
   */
  mobileVit(x: tf.Tensor4D, block: MobileVitBlock, patch: number): tf.Tensor4D {
    const { prefix } = block;
    const local = this.cbs(this.cbs(x, `${prefix}.local`), `${prefix}.to_tokens`);
    const h = local.shape[1] / patch;
    let tokens = rearrange(local, 'b (h ph) (w pw) d -> (b ph pw) (h w) d', { ph: patch, pw: patch });
    for (let j = 0; j < block.depth; j++) tokens = this.transformerLayer(tokens, (name) => this.p(`${prefix}.layers.${j}.${name}`));
    const global = rearrange<tf.Tensor4D>(tokens, '(b ph pw) (h w) d -> b (h ph) (w pw) d', { ph: patch, pw: patch, h });
    const back = this.cbs(global, `${prefix}.from_tokens`);
    return this.cbs(tf.concat([back, x], 3), `${prefix}.fuse`);
  }

  /** Pre-norm: x + Attention(LayerNorm(x)), then x + FeedForward(LayerNorm(x)), the MLP with SiLU (not the ViT's GELU). */
  private transformerLayer(x: tf.Tensor, w: Weights): tf.Tensor {
    const attended = residualAdd(x, selfAttention(layerNorm(x, w('attn.norm.weight'), w('attn.norm.bias')), w, ATTENTION, this.dropout));
    const normed = layerNorm(attended, w('mlp.norm.weight'), w('mlp.norm.bias'));
    const hidden = silu(linear(normed, w('mlp.fc1.weight'), w('mlp.fc1.bias')));
    return residualAdd(attended, linear(hidden, w('mlp.fc2.weight'), w('mlp.fc2.bias')));
  }
}

/** A 1×1 convolution without bias is a Linear on every position: weight [1, 1, c_in, c_out] as [c_in, c_out]. */
function pointwise(x: tf.Tensor4D, weight: tf.Tensor): tf.Tensor4D {
  return linear(x, rearrange(weight, '1 1 i o -> i o')) as tf.Tensor4D;
}

/**
 * PyTorch's Conv2d(c, c, 3, stride, padding 1, groups=c, bias=False) on NHWC x, weight [3, 3, 1, c].
 * src/layers/conv.ts's depthwise conv (the native kernel, strided, or tfjs ops at stride 1 then
 * every stride-th output) where the backend has the native kernel or lacks tfjs's gradient kernels
 * for tf.depthwiseConv2d (wasm has none); else tfjs's own kernel and its gradients. `ours` picks
 * the first way (tests).
 */
export function stridedDepthwise(x: tf.Tensor4D, weight: tf.Tensor, stride: number, ours = useOurDepthwise()): tf.Tensor4D {
  const [k, , , channels] = weight.shape;
  const pad = (k - 1) / 2;
  if (!ours) return tf.depthwiseConv2d(x, rearrange<tf.Tensor4D>(weight, 'k1 k2 1 c -> k1 k2 c 1'), stride, pad);
  return depthwiseConv2d(x, weight, tf.zeros([channels]), [pad, pad, pad, pad], stride);
}

function useOurDepthwise(): boolean {
  return hasKernel(DEPTHWISE_CONV) || !hasKernel('DepthwiseConv2dNativeBackpropFilter') || !hasKernel('DepthwiseConv2dNativeBackpropInput');
}
