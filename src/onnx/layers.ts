import type { SafeTensor } from '../checkpoint/safetensors.js';
import type { ModelConfig } from '../config/schema.js';
import { LAYER_NORM_EPS } from '../model/layers.js';
import type { GraphBuilder } from './graph.js';

/**
 * The layers both families share, as ONNX nodes computing what src/model/layers.ts, vit.ts and
 * mlp.ts compute in evaluation mode (no dropout). Tensors are named values of the graph.
 */

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
 * `${prefix}.out`: softmax(q·kᵀ / √dim_head) · v per head, heads concatenated, projected. The qkv
 * product splits into q | k | v, each heads·dim_head wide, head-major within.
 */
export function attention(g: GraphBuilder, x: string, p: Param, prefix: string, cfg: ModelConfig, tokens: number): string {
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
  return linear(g, concatenated, p(`${prefix}.out.weight`), p(`${prefix}.out.bias`), `${prefix}.out`);
}

/** The MLP on every token: Linear → GELU → Linear (`${prefix}.fc1`, `${prefix}.fc2`). */
export function mlp(g: GraphBuilder, x: string, p: Param, prefix: string): string {
  const hidden = gelu(g, linear(g, x, p(`${prefix}.fc1.weight`), p(`${prefix}.fc1.bias`), `${prefix}.fc1`), `${prefix}.gelu`);
  return linear(g, hidden, p(`${prefix}.fc2.weight`), p(`${prefix}.fc2.bias`), `${prefix}.fc2`);
}
