import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { type Params, initVariables, tfSeed } from '../../layers/params.js';
import type { Rng } from '../../util/rng.js';
import { type CctConfig, cctGridSide } from './config.js';

const INIT_STD = 0.02;
const POSITION_INIT_STD = 0.2; // SHI-Labs' trunc_normal_(positional_emb, std=0.2)

/** Channels in and out of each tokenizer conv: 3 → conv_channels → … → dim. */
export function convChannels(cfg: CctConfig): [number, number][] {
  const sizes = [CHANNELS, ...Array<number>(cfg.conv_layers - 1).fill(cfg.conv_channels), cfg.dim];
  return sizes.slice(1).map((out, i) => [sizes[i], out]);
}

/** Tokens per image: the tokenizer's output grid, flattened. */
export function cctTokens(cfg: CctConfig): number {
  return cctGridSide(cfg) ** 2;
}

/**
 * Every CCT parameter's name and shape, in a fixed order (initCctParams draws seeds in it).
 * Conv weights are [k, k, c_in, c_out] and Linear weights [in, out], so both are plain x · W.
 * The sinusoidal position table is a constant, not a parameter (PyTorch keeps it frozen).
 */
export function cctParamShapes(cfg: CctConfig): Record<string, number[]> {
  const { dim, depth, mlp_dim, num_classes, conv_kernel: k } = cfg;
  const shapes: Record<string, number[]> = {};
  convChannels(cfg).forEach(([cin, cout], i) => (shapes[`tokenizer.conv.${i}.weight`] = [k, k, cin, cout]));
  if (cfg.positional_embedding === 'learnable') shapes.pos_embed = [1, cctTokens(cfg), dim];
  for (let i = 0; i < depth; i++) {
    Object.assign(shapes, {
      [`blocks.${i}.attn.norm.weight`]: [dim],
      [`blocks.${i}.attn.norm.bias`]: [dim],
      [`blocks.${i}.attn.qkv.weight`]: [dim, 3 * dim],
      [`blocks.${i}.attn.out.weight`]: [dim, dim],
      [`blocks.${i}.attn.out.bias`]: [dim],
      [`blocks.${i}.norm1.weight`]: [dim],
      [`blocks.${i}.norm1.bias`]: [dim],
      [`blocks.${i}.mlp.fc1.weight`]: [dim, mlp_dim],
      [`blocks.${i}.mlp.fc1.bias`]: [mlp_dim],
      [`blocks.${i}.mlp.fc2.weight`]: [mlp_dim, dim],
      [`blocks.${i}.mlp.fc2.bias`]: [dim],
    });
  }
  Object.assign(shapes, {
    'norm.weight': [dim],
    'norm.bias': [dim],
    'attention_pool.weight': [dim, 1],
    'attention_pool.bias': [1],
    'head.weight': [dim, num_classes],
    'head.bias': [num_classes],
  });
  return shapes;
}

/** Weight decay on conv and Linear weights only (not on norms, biases or positions), as timm does. */
export function cctIsDecayed(name: string): boolean {
  return name.endsWith('.weight') && !/norm\d*\.weight$/.test(name);
}

/**
 * Muon's matrices: the tokenizer's convs and each block's attention and MLP weights (not the
 * pooling projection or the head), as Muon's authors advise.
 */
export function cctIsHiddenMatrix(name: string): boolean {
  return /^(blocks\.\d+\.(attn\.(qkv|out)|mlp\.fc[12])|tokenizer\.conv\.\d+)\.weight$/.test(name);
}

/**
 * Fresh weights as SHI-Labs initialise them: conv weights Kaiming-normal (std √(2 / fan_in)),
 * Linear weights truncated normal std 0.02, learnable positions truncated normal std 0.2, biases
 * zero, LayerNorm gain one. Each random tensor gets its own seed drawn from `seed`.
 */
export function initCctParams(cfg: CctConfig, seed: number): Params {
  return initVariables(cctParamShapes(cfg), initialValue, seed);
}

function initialValue(name: string, shape: number[], rng: Rng): tf.Tensor {
  if (name.endsWith('.bias')) return tf.zeros(shape);
  if (/norm\d*\.weight$/.test(name)) return tf.ones(shape);
  if (name.startsWith('tokenizer.')) {
    const [k, , cin] = shape;
    return tf.randomNormal(shape, 0, Math.sqrt(2 / (k * k * cin)), 'float32', tfSeed(rng));
  }
  return tf.truncatedNormal(shape, 0, name === 'pos_embed' ? POSITION_INIT_STD : INIT_STD, 'float32', tfSeed(rng));
}
