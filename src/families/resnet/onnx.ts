import type { SafeTensor } from '../../checkpoint/safetensors.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import { batchNorm, checkpointParams, conv, linear } from '../../onnx/layers.js';
import { type ResNetConfig, basicBlocks } from './config.js';

/** The ResNet of model.ts in evaluation mode, as ONNX nodes on normalised NCHW images [b, 3, 32, 32] → logits [b, num_classes]. */
export function resNetOnnx(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: ResNetConfig): string {
  const p = checkpointParams(g, weights);
  const convolve = (x: string, prefix: string, stride: number, pad: number) => conv(g, x, weights, prefix, { stride, pads: [pad, pad, pad, pad] });
  let x = batchNorm(g, convolve(images, 'conv1', 1, 1), p, 'bn1', 'relu_after');
  for (const { prefix, stride, projection } of basicBlocks(cfg)) {
    const inner = batchNorm(g, convolve(x, `${prefix}.conv1`, stride, 1), p, `${prefix}.bn1`, 'relu_after');
    const residual = batchNorm(g, convolve(inner, `${prefix}.conv2`, 1, 1), p, `${prefix}.bn2`, 'none');
    const shortcut = projection ? batchNorm(g, convolve(x, `${prefix}.shortcut.0`, stride, 0), p, `${prefix}.shortcut.1`, 'none') : x;
    x = g.op('Relu', [g.op('Add', [residual, shortcut], {}, `${prefix}.add`)], {}, `${prefix}.relu`);
  }
  const pooled = g.op('Flatten', [g.op('GlobalAveragePool', [x], {}, 'pool')], { axis: 1 }, 'pooled');
  return linear(g, pooled, p('linear.weight'), p('linear.bias'), 'linear');
}
