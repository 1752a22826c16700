import type { SafeTensor } from './safetensors.js';

/**
 * The axes of `tensor` reordered: output axis a is input axis perm[a] (numpy's transpose).
 * Used to move weights between our layouts and PyTorch's: Linear [in, out] ↔ [out, in],
 * conv [kh, kw, in, out] ↔ [out, in, kh, kw].
 */
export function permuted(tensor: SafeTensor & { dtype: 'F32' }, perm: number[]): SafeTensor & { dtype: 'F32' } {
  const shape = perm.map((axis) => tensor.shape[axis]);
  const inStrides = strides(tensor.shape);
  const outStrides = strides(shape);
  const data = new Float32Array(tensor.data.length);
  const index = new Array<number>(shape.length).fill(0);
  for (let flat = 0; flat < data.length; flat++) {
    let rest = flat;
    let source = 0;
    for (let a = 0; a < shape.length; a++) {
      index[a] = Math.floor(rest / outStrides[a]);
      rest -= index[a] * outStrides[a];
      source += index[a] * inStrides[perm[a]];
    }
    data[flat] = tensor.data[source];
  }
  return { dtype: 'F32', shape, data };
}

/** The inverse permutation: permuted(permuted(t, p), inverse(p)) is t. */
export function inversePermutation(perm: number[]): number[] {
  const inverse = new Array<number>(perm.length);
  perm.forEach((axis, i) => (inverse[axis] = i));
  return inverse;
}

function strides(shape: number[]): number[] {
  const out = new Array<number>(shape.length).fill(1);
  for (let a = shape.length - 2; a >= 0; a--) out[a] = out[a + 1] * shape[a + 1];
  return out;
}
