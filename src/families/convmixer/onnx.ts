import type { SafeTensor } from '../../checkpoint/safetensors.js';
import { samePadding } from '../../layers/conv.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import { batchNorm, checkpointParams, conv, linear } from '../../onnx/layers.js';
import type { ConvMixerConfig } from './config.js';

/**
 * The ConvMixer of model.ts in evaluation mode, as ONNX nodes on normalised NCHW images
 * [b, 3, s, s] → logits [b, num_classes]: patch conv → GELU → BN, `depth` blocks, mean → Linear.
 */
export function convMixerOnnx(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: ConvMixerConfig): string {
  const p = checkpointParams(g, weights);
  const { dim, patch_size: patch } = cfg;
  let x = batchNorm(g, conv(g, images, weights, 'stem.conv', { stride: patch, pads: [0, 0, 0, 0] }), p, 'stem.norm', 'gelu_before');
  const [top, bottom, left, right] = samePadding(cfg.kernel_size);
  for (let i = 0; i < cfg.depth; i++) {
    const block = `blocks.${i}`;
    const mixed = conv(g, x, weights, `${block}.depthwise`, { stride: 1, pads: [top, left, bottom, right], group: dim });
    x = g.op('Add', [x, batchNorm(g, mixed, p, `${block}.depthwise_norm`, 'gelu_before')], {}, `${block}.residual`);
    x = batchNorm(g, conv(g, x, weights, `${block}.pointwise`, { stride: 1, pads: [0, 0, 0, 0] }), p, `${block}.pointwise_norm`, 'gelu_before');
  }
  const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [x], {}, 'pool')], { axis: 1 }, 'pooled');
  return linear(g, pooled, p('head.weight'), p('head.bias'), 'head');
}
