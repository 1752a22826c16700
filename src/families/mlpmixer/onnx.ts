import type { SafeTensor } from '../../checkpoint/safetensors.js';
import { CHANNELS } from '../../data/cifar10.js';
import type { GraphBuilder } from '../../onnx/graph.js';
import { checkpointParams, gelu, layerNorm, linear, mlp } from '../../onnx/layers.js';
import { type MlpMixerConfig, numPatches } from './config.js';

/**
 * The MLP-Mixer of model.ts in evaluation mode, as ONNX nodes on normalised NCHW images
 * [b, 3, s, s] → logits [b, num_classes]: patches → Linear → `depth` blocks of token mixing and
 * channel mixing (each pre-norm, residual) → LayerNorm → mean over patches → Linear.
 */
export function mlpMixerOnnx(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: MlpMixerConfig): string {
  const p = checkpointParams(g, weights);
  const { patch_size: size } = cfg;
  const side = cfg.image_size / size;
  // NCHW's 'b c (h p1) (w p2) -> b (h w) (p1 p2 c)', as model.ts cuts NHWC images.
  const cut = g.op('Reshape', [images, g.int64([-1, CHANNELS, side, size, side, size])]); // b c h p1 w p2
  const ordered = g.op('Transpose', [cut], { perm: [0, 2, 4, 3, 5, 1] }); // b h w p1 p2 c
  const patches = g.op('Reshape', [ordered, g.int64([-1, numPatches(cfg), size * size * CHANNELS])], {}, 'patches');
  let x = linear(g, patches, p('patch_embed.weight'), p('patch_embed.bias'), 'patch_embed');

  // A token-mixing Conv1d kernel, ours [1, in, out], as the matrix [in, out] it is.
  const matrix = (name: string) => {
    const { shape, data } = weights[name] as SafeTensor & { dtype: 'F32' };
    return g.float(name, shape.slice(1), data);
  };
  for (let i = 0; i < cfg.depth; i++) {
    const token = `blocks.${i}.token_mix`;
    const normed = layerNorm(g, x, p(`${token}.norm.weight`), p(`${token}.norm.bias`), `${token}.norm`);
    // 'b n d -> b d n': the patches last, for the products across them.
    const columns = g.op('Transpose', [normed], { perm: [0, 2, 1] }, `${token}.columns`);
    const hidden = gelu(g, linear(g, columns, matrix(`${token}.fc1.weight`), p(`${token}.fc1.bias`), `${token}.fc1`), `${token}.gelu`);
    const mixed = linear(g, hidden, matrix(`${token}.fc2.weight`), p(`${token}.fc2.bias`), `${token}.fc2`);
    x = g.op('Add', [x, g.op('Transpose', [mixed], { perm: [0, 2, 1] }, `${token}.tokens`)], {}, `${token}.residual`);

    const channel = `blocks.${i}.channel_mix`;
    const channelIn = layerNorm(g, x, p(`${channel}.norm.weight`), p(`${channel}.norm.bias`), `${channel}.norm`);
    x = g.op('Add', [x, mlp(g, channelIn, p, channel)], {}, `${channel}.residual`);
  }
  const normed = layerNorm(g, x, p('head.norm.weight'), p('head.norm.bias'), 'head.norm');
  const pooled = g.op('ReduceMean', [normed], { axes: [1], keepdims: 0 }, 'pooled');
  return linear(g, pooled, p('head.linear.weight'), p('head.linear.bias'), 'head.linear');
}
