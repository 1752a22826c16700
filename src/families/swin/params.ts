import * as tf from '@tensorflow/tfjs';
import { type Params, fanIn, initVariables, pytorchDefaultInit, tfSeed } from '../../layers/params.js';
import type { Rng } from '../../util/rng.js';
import { type SwinConfig, swinStages } from './config.js';

/** The MLP's hidden width over the block's (berniwal's mlp_dim = hidden_dimension · 4). */
export const MLP_RATIO = 4;

/** A block's position-bias table: one value per relative offset [2w − 1, 2w − 1], or per pair of positions [w², w²]. */
export function posEmbedShape(cfg: SwinConfig): number[] {
  const w = cfg.window_size;
  return cfg.relative_pos_embedding ? [2 * w - 1, 2 * w - 1] : [w * w, w * w];
}

/**
 * Every parameter's name and shape, in a fixed order (init draws its seeds in it): per stage
 * `stages.s.merge` (patch merging's Linear, [c·f², dim]), then per block the attention's
 * LayerNorm, qkv (no bias), position-bias table and output Linear, the MLP's LayerNorm and two
 * Linears; last the head's LayerNorm and Linear. Linear weights are [in, out].
 */
export function paramShapes(cfg: SwinConfig): Record<string, number[]> {
  const shapes: Record<string, number[]> = {};
  for (const { index, inChannels, dim, factor, layers, heads } of swinStages(cfg)) {
    const stage = `stages.${index}`;
    const inner = heads * cfg.head_dim;
    shapes[`${stage}.merge.weight`] = [inChannels * factor * factor, dim];
    shapes[`${stage}.merge.bias`] = [dim];
    for (let j = 0; j < layers; j++) {
      const block = `${stage}.blocks.${j}`;
      Object.assign(shapes, {
        [`${block}.attn.norm.weight`]: [dim],
        [`${block}.attn.norm.bias`]: [dim],
        [`${block}.attn.qkv.weight`]: [dim, 3 * inner],
        [`${block}.attn.pos_embed`]: posEmbedShape(cfg),
        [`${block}.attn.out.weight`]: [inner, dim],
        [`${block}.attn.out.bias`]: [dim],
        [`${block}.mlp.norm.weight`]: [dim],
        [`${block}.mlp.norm.bias`]: [dim],
        [`${block}.mlp.fc1.weight`]: [dim, MLP_RATIO * dim],
        [`${block}.mlp.fc1.bias`]: [MLP_RATIO * dim],
        [`${block}.mlp.fc2.weight`]: [MLP_RATIO * dim, dim],
        [`${block}.mlp.fc2.bias`]: [dim],
      });
    }
  }
  const last = 8 * cfg.hidden_dim;
  Object.assign(shapes, { 'head.norm.weight': [last], 'head.norm.bias': [last], 'head.linear.weight': [last, cfg.num_classes], 'head.linear.bias': [cfg.num_classes] });
  return shapes;
}

/** Weight decay on Linear weights only: not on biases, LayerNorm gains or the position-bias tables. */
export function isDecayed(name: string): boolean {
  return name.endsWith('.weight') && !name.endsWith('norm.weight');
}

/** Muon's matrices: every patch merging's, attention's and MLP's weights (not the head's). */
export function isHiddenMatrix(name: string): boolean {
  return /^stages\.\d+\.(merge|blocks\.\d+\.(attn\.(qkv|out)|mlp\.fc[12]))\.weight$/.test(name);
}

/**
 * Fresh weights as PyTorch initialises berniwal's modules: nn.Linear's default (U(±1/√fan_in),
 * the bias too), LayerNorm gain one and shift zero, and the position-bias tables torch.randn's N(0, 1).
 */
export function initParams(cfg: SwinConfig, seed: number): Params {
  const shapes = paramShapes(cfg);
  return initVariables(shapes, (name, shape, rng) => initialValue(name, shape, shapes, rng), seed);
}

function initialValue(name: string, shape: number[], shapes: Record<string, number[]>, rng: Rng): tf.Tensor {
  if (name.endsWith('norm.weight')) return tf.ones(shape);
  if (name.endsWith('norm.bias')) return tf.zeros(shape);
  if (name.endsWith('.pos_embed')) return tf.randomNormal(shape, 0, 1, 'float32', tfSeed(rng));
  const weight = name.endsWith('.bias') ? shapes[name.replace(/\.bias$/, '.weight')] : shape;
  return pytorchDefaultInit(shape, fanIn(weight), rng);
}
