import type { SafeTensor } from '../../checkpoint/safetensors.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import { attention, checkpointParams, conv, layerNorm, linear, mlp } from '../../onnx/layers.js';
import type { CctConfig } from './config.js';
import { sinusoidalTable } from './model.js';
import { cctTokens, convChannels } from './params.js';

/**
 * The CCT of model.ts in evaluation mode, as ONNX nodes: normalised NCHW images
 * [b, 3, image_size, image_size] → logits [b, num_classes]. conv tokenizer → (+ positions) →
 * `depth` encoder blocks → LayerNorm → sequence pooling → Linear.
 */
export function cctOnnx(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: CctConfig): string {
  const p = checkpointParams(g, weights);
  const tokens = cctTokens(cfg);
  // 'b d h w -> b (h w) d': the tokens in the order of cct.ts's NHWC 'b h w d -> b (h w) d'.
  const grid = g.op('Reshape', [tokenize(g, weights, cfg, images), g.int64([-1, cfg.dim, tokens])]);
  let x = g.op('Transpose', [grid], { perm: [0, 2, 1] }, 'tokens');
  if (cfg.positional_embedding === 'learnable') x = g.op('Add', [x, p('pos_embed')], {}, 'embedded');
  if (cfg.positional_embedding === 'sine') {
    x = g.op('Add', [x, g.float('sine_pos_embed', [1, tokens, cfg.dim], sinusoidalTable(tokens, cfg.dim))], {}, 'embedded');
  }

  for (let i = 0; i < cfg.depth; i++) {
    const block = `blocks.${i}`;
    const attnIn = layerNorm(g, x, p(`${block}.attn.norm.weight`), p(`${block}.attn.norm.bias`), `${block}.attn.norm`);
    x = g.op('Add', [x, attention(g, attnIn, p, `${block}.attn`, cfg, tokens)], {}, `${block}.attn.residual`);
    // Unlike the ViT's pre-norm MLP, SHI-Labs normalise the residual stream itself here.
    x = layerNorm(g, x, p(`${block}.norm1.weight`), p(`${block}.norm1.bias`), `${block}.norm1`);
    x = g.op('Add', [x, mlp(g, x, p, `${block}.mlp`)], {}, `${block}.mlp.residual`);
  }
  x = layerNorm(g, x, p('norm.weight'), p('norm.bias'), 'norm');

  // Sequence pooling: softmax over the tokens of a Linear(dim → 1), then Σₙ wₙ · xₙ: [b, dim].
  const scores = linear(g, x, p('attention_pool.weight'), p('attention_pool.bias'), 'attention_pool');
  const poolWeights = g.op('Softmax', [scores], { axis: 1 }, 'attention_pool.weights');
  const pooled = g.op('ReduceSum', [g.op('Mul', [poolWeights, x]), g.int64([1])], { keepdims: 0 }, 'pooled');
  return linear(g, pooled, p('head.weight'), p('head.bias'), 'head');
}

/**
 * The convolutional tokenizer on NCHW images: per layer Conv (no bias) → MaxPool → ReLU, as
 * cct.ts orders them (ReLU commutes with the max); [b, dim, side, side]. Our conv weights are
 * [k, k, in, out] for NHWC windows; ONNX's Conv wants [out, in, k, k], PyTorch's layout.
 */
function tokenize(g: GraphBuilder, weights: Record<string, SafeTensor>, cfg: CctConfig, images: string): string {
  let x = images;
  convChannels(cfg).forEach((_, i) => {
    const { conv_stride: stride, conv_padding: pad } = cfg;
    const convolved = conv(g, x, weights, `tokenizer.conv.${i}`, { stride, pads: [pad, pad, pad, pad] });
    // Padding never wins the max (PyTorch's MaxPool2d, tfjs's maxPool and ONNX's MaxPool agree); floor output size.
    const { pool_kernel: pk, pool_stride: ps, pool_padding: pp } = cfg;
    const pooled = g.op('MaxPool', [convolved], { kernel_shape: [pk, pk], strides: [ps, ps], pads: [pp, pp, pp, pp], ceil_mode: 0 }, `tokenizer.pool.${i}`);
    x = g.op('Relu', [pooled], {}, `tokenizer.relu.${i}`);
  });
  return x;
}
