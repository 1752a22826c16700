import * as tf from '@tensorflow/tfjs';
import { CHANNELS } from '../../data/cifar10.js';
import { type Params, fanIn, initVariables, pytorchDefaultInit, tfSeed } from '../../layers/params.js';
import type { Rng } from '../../util/rng.js';
import type { CaitConfig } from './config.js';

export function numPatches(cfg: CaitConfig): number {
  return (cfg.image_size / cfg.patch_size) ** 2;
}

export function patchDim(cfg: CaitConfig): number {
  return cfg.patch_size * cfg.patch_size * CHANNELS;
}

/** The two stacks of blocks: `depth` over the patches, then `cls_depth` of class attention. */
export const STACKS = ['patch_blocks', 'cls_blocks'] as const;
export type Stack = (typeof STACKS)[number];

export function stackDepth(cfg: CaitConfig, stack: Stack): number {
  return stack === 'patch_blocks' ? cfg.depth : cfg.cls_depth;
}

/**
 * Every parameter's name and shape, in a fixed order (initParams draws seeds in it). Linear
 * weights are [in, out]. Each sublayer (`attn`, `mlp`) has its LayerScale `scale` [1, 1, dim] and
 * its pre-norm `norm`. The talking-heads matrices `mix_pre`, `mix_post` are [heads out, heads in]:
 * they mix the heads from the left, A'_g = Σ_h W[g, h] · A_h (the reference's are [in, out]).
 */
export function paramShapes(cfg: CaitConfig): Record<string, number[]> {
  const { dim, heads, dim_head, mlp_dim, num_classes } = cfg;
  const inner = heads * dim_head;
  const shapes: Record<string, number[]> = {
    'patch_embed.weight': [patchDim(cfg), dim],
    'patch_embed.bias': [dim],
    pos_embed: [1, numPatches(cfg), dim],
    cls_token: [1, 1, dim],
  };
  for (const stack of STACKS) {
    for (let i = 0; i < stackDepth(cfg, stack); i++) {
      const block = `${stack}.${i}`;
      Object.assign(shapes, {
        [`${block}.attn.scale`]: [1, 1, dim],
        [`${block}.attn.norm.weight`]: [dim],
        [`${block}.attn.norm.bias`]: [dim],
        [`${block}.attn.q.weight`]: [dim, inner],
        [`${block}.attn.kv.weight`]: [dim, 2 * inner],
        [`${block}.attn.mix_pre.weight`]: [heads, heads],
        [`${block}.attn.mix_post.weight`]: [heads, heads],
        [`${block}.attn.out.weight`]: [inner, dim],
        [`${block}.attn.out.bias`]: [dim],
        [`${block}.mlp.scale`]: [1, 1, dim],
        [`${block}.mlp.norm.weight`]: [dim],
        [`${block}.mlp.norm.bias`]: [dim],
        [`${block}.mlp.fc1.weight`]: [dim, mlp_dim],
        [`${block}.mlp.fc1.bias`]: [mlp_dim],
        [`${block}.mlp.fc2.weight`]: [mlp_dim, dim],
        [`${block}.mlp.fc2.bias`]: [dim],
      });
    }
  }
  shapes['head.norm.weight'] = [dim];
  shapes['head.norm.bias'] = [dim];
  shapes['head.linear.weight'] = [dim, num_classes];
  shapes['head.linear.bias'] = [num_classes];
  return shapes;
}

/**
 * Weight decay on the Linear weights and the talking-heads matrices; not on biases, LayerNorm
 * gains, LayerScale factors, the cls token or the positions (decaying them regularises nothing).
 */
export function isDecayed(name: string): boolean {
  return name.endsWith('.weight') && !name.endsWith('norm.weight');
}

/**
 * Muon's matrices: the patch embedding's and each block's attention and MLP weights. The
 * heads × heads talking-heads matrices and the head stay with AdamW, as the ViT's head does.
 */
export function isHiddenMatrix(name: string): boolean {
  return /^((patch|cls)_blocks\.\d+\.(attn\.(q|kv|out)|mlp\.fc[12])|patch_embed)\.weight$/.test(name);
}

/**
 * LayerScale's initial factor for the block at `index` (0-based) of its stack, as models/cait.py
 * sets it from the block's own depth index + 1 (not the stack's depth, as the paper does):
 * 0.1 up to 18, 1e-5 up to 24, 1e-6 beyond.
 */
export function layerScaleInit(index: number): number {
  const depth = index + 1;
  return depth <= 18 ? 0.1 : depth <= 24 ? 1e-5 : 1e-6;
}

/**
 * Fresh weights as the reference initialises them: PyTorch's nn.Linear default (weight and bias
 * U(±1/√fan_in)), LayerNorm gain 1 and shift 0, `torch.randn` for the positions, the cls token and
 * the talking-heads matrices, LayerScale factors filled with layerScaleInit.
 */
export function initParams(cfg: CaitConfig, seed: number): Params {
  const shapes = paramShapes(cfg);
  return initVariables(shapes, (name, shape, rng) => initialValue(name, shape, shapes, rng), seed);
}

function initialValue(name: string, shape: number[], shapes: Record<string, number[]>, rng: Rng): tf.Tensor {
  if (name.endsWith('norm.weight')) return tf.ones(shape);
  if (name.endsWith('norm.bias')) return tf.zeros(shape);
  const scale = name.match(/^\w+\.(\d+)\.(attn|mlp)\.scale$/);
  if (scale) return tf.fill(shape, layerScaleInit(Number(scale[1])));
  if (name === 'pos_embed' || name === 'cls_token' || name.includes('.mix_')) return tf.randomNormal(shape, 0, 1, 'float32', tfSeed(rng));
  const weight = name.endsWith('.bias') ? shapes[name.replace(/\.bias$/, '.weight')] : shape;
  return pytorchDefaultInit(shape, fanIn(weight), rng);
}
