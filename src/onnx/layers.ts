import { CONV_TO_PYTORCH } from '../checkpoint/pytorch.js';
import type { SafeTensor } from '../checkpoint/safetensors.js';
import { permuted } from '../checkpoint/layout.js';
import { BATCH_NORM_EPS, type BatchNormActivation } from '../layers/batch-norm.js';
import { LAYER_NORM_EPS } from '../layers/layer-norm.js';
import type { GraphBuilder } from './graph.js';

/**
 * The layers the families share (src/layers/), as ONNX nodes computing what they compute in
 * evaluation mode (no dropout). Tensors are named values of the graph; images are NCHW here.

/** A checkpoint weight (our name) as an initializer of the graph, in our layout, added on first use. */
export type Param = (name: string) => string;

export function checkpointParams(g: GraphBuilder, weights: Record<string, SafeTensor>): Param {
  return (name) => {
    const tensor = weights[name];
    if (tensor?.dtype !== 'F32') throw new Error(`onnx export: no float32 weight ${name}`);
    return g.float(name, tensor.shape, tensor.data);
  };
}

/** x · W (+ b) over the last axis: our Linear weights are [in, out], so MatMul takes them as they are. */
export function linear(g: GraphBuilder, x: string, weight: string, bias?: string, name = 'linear'): string {
  const product = g.op('MatMul', [x, weight], {}, bias ? `${name}.matmul` : name);
  return bias ? g.op('Add', [product, bias], {}, name) : product;
}

/** LayerNorm over the last axis, eps as in training (PyTorch's 1e-5). */
export function layerNorm(g: GraphBuilder, x: string, weight: string, bias: string, name = 'layer_norm'): string {
  return g.op('LayerNormalization', [x, weight, bias], { axis: -1, epsilon: { float: LAYER_NORM_EPS } }, name);
}

/** The exact GELU, x · Φ(x) = x · (1 + erf(x/√2)) / 2, in the order mlp.ts computes it. */
export function gelu(g: GraphBuilder, x: string, name = 'gelu'): string {
  const erf = g.op('Erf', [g.op('Mul', [x, g.scalar(Math.SQRT1_2)])], {}, `${name}.erf`);
  const cdf = g.op('Mul', [g.op('Add', [erf, g.scalar(1)]), g.scalar(0.5)], {}, `${name}.cdf`);
  return g.op('Mul', [x, cdf], {}, name);
}

/**
 * Multi-head self-attention on x [b, tokens, dim] with the weights `${prefix}.qkv` (no bias) and
 * `${prefix}.out` (its bias unless `outBias` is false): softmax(q·kᵀ / √dim_head) · v per head, heads concatenated, projected. The qkv
 * product splits into q | k | v, each heads·dim_head wide, head-major within.
 */
export function attention(g: GraphBuilder, x: string, p: Param, prefix: string, cfg: { heads: number; dim_head: number; outBias?: boolean }, tokens: number): string {
  const { heads, dim_head: dimHead } = cfg;
  const [q, k, v] = g.ops('Split', [linear(g, x, p(`${prefix}.qkv.weight`), undefined, `${prefix}.qkv`)], 3, { axis: -1 }, `${prefix}.qkv.split`);
  // 'b n (h d) -> b h n d' (or 'b h d n' for the keys, transposed for the product).
  const perHead = (t: string, perm: number[], name: string) =>
    g.op('Transpose', [g.op('Reshape', [t, g.int64([-1, tokens, heads, dimHead])])], { perm }, `${prefix}.${name}`);
  // q is scaled rather than q·kᵀ, as vit.ts does: the same product, rounded the same way.
  const queries = perHead(g.op('Mul', [q, g.scalar(dimHead ** -0.5)]), [0, 2, 1, 3], 'queries');
  const keysT = perHead(k, [0, 2, 3, 1], 'keys_t');
  const values = perHead(v, [0, 2, 1, 3], 'values');
  const probabilities = g.op('Softmax', [g.op('MatMul', [queries, keysT])], { axis: -1 }, `${prefix}.probabilities`);
  const perToken = g.op('Transpose', [g.op('MatMul', [probabilities, values])], { perm: [0, 2, 1, 3] });
  const concatenated = g.op('Reshape', [perToken, g.int64([-1, tokens, heads * dimHead])], {}, `${prefix}.heads`);
  return linear(g, concatenated, p(`${prefix}.out.weight`), cfg.outBias === false ? undefined : p(`${prefix}.out.bias`), `${prefix}.out`);
}

/** The MLP on every token: Linear → GELU → Linear (`${prefix}.fc1`, `${prefix}.fc2`). */
export function mlp(g: GraphBuilder, x: string, p: Param, prefix: string): string {
  const hidden = gelu(g, linear(g, x, p(`${prefix}.fc1.weight`), p(`${prefix}.fc1.bias`), `${prefix}.fc1`), `${prefix}.gelu`);
  return linear(g, hidden, p(`${prefix}.fc2.weight`), p(`${prefix}.fc2.bias`), `${prefix}.fc2`);
}

/**
 * A 2-D convolution on NCHW `x` with `${prefix}.weight` (ours [kh, kw, in/groups, out], given to
 * ONNX in PyTorch's [out, in/groups, kh, kw]) and `${prefix}.bias` when the checkpoint has one.
 * `pads` are [top, left, bottom, right]; `group` = channels makes it depthwise.
 */
export function conv(g: GraphBuilder, x: string, weights: Record<string, SafeTensor>, prefix: string, opts: { stride: number; pads: number[]; group?: number }): string {
  const name = `${prefix}.weight`;
  const weight = weights[name];
  if (weight?.dtype !== 'F32') throw new Error(`onnx export: no float32 weight ${name}`);
  const kernel = permuted(weight, CONV_TO_PYTORCH);
  const [, , kh, kw] = kernel.shape;
  const inputs = [x, g.float(name, kernel.shape, kernel.data)];
  const bias = weights[`${prefix}.bias`];
  if (bias?.dtype === 'F32') inputs.push(g.float(`${prefix}.bias`, bias.shape, bias.data));
  const attributes = { kernel_shape: [kh, kw], strides: [opts.stride, opts.stride], pads: opts.pads, group: opts.group ?? 1 };
  return g.op('Conv', inputs, attributes, prefix);
}

/**
 * BatchNorm in evaluation mode (the running statistics) on NCHW `x`, with its fused activation
 * as src/layers/batch-norm.ts has it: GELU before, ReLU or SiLU after, or none.
 */
export function batchNorm(g: GraphBuilder, x: string, p: Param, prefix: string, activation: BatchNormActivation): string {
  const input = activation === 'gelu_before' ? gelu(g, x, `${prefix}.gelu`) : x;
  const inputs = [input, p(`${prefix}.weight`), p(`${prefix}.bias`), p(`${prefix}.running_mean`), p(`${prefix}.running_var`)];
  const normalized = g.op('BatchNormalization', inputs, { epsilon: { float: BATCH_NORM_EPS } }, prefix);
  if (activation === 'relu_after') return g.op('Relu', [normalized], {}, `${prefix}.relu`);
  return activation === 'silu_after' ? silu(g, normalized, `${prefix}.silu`) : normalized;
}

/** SiLU, x · σ(x) (ONNX's opset has no SiLU operator). */
export function silu(g: GraphBuilder, x: string, name: string): string {
  return g.op('Mul', [x, g.op('Sigmoid', [x], {}, `${name}.sigmoid`)], {}, name);
}
