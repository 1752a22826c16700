/** One product for the native GEMM tests: out = op(a[i]) · op(b[i]) (+ bias) for i < batch. */
export interface GemmCase {
  m: number;
  n: number;
  k: number;
  batch: number;
  transposeA: boolean;
  transposeB: boolean;
  /** One a for every b (a batch stride of 0). */
  broadcastA: boolean;
  /** affine: x · w + bias (batch 1, no transposes). */
  bias: boolean;
  seed: number;
}

/** Values in [-2, 2) from a seed: the same in every process. */
export function noise(length: number, seed: number): Float32Array {
  let state = (seed * 2654435761) >>> 0 || 1;
  return Float32Array.from({ length }, () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return ((state >>> 0) / 2 ** 32) * 4 - 2;
  });
}

export function inputsOf(c: GemmCase): { a: Float32Array; b: Float32Array; bias: Float32Array } {
  return {
    a: noise((c.broadcastA ? 1 : c.batch) * c.m * c.k, c.seed),
    b: noise(c.batch * c.k * c.n, c.seed + 1),
    bias: noise(c.bias ? c.n : 0, c.seed + 2),
  };
}

/** The product in float64, and Σ|terms| per output (what float32 rounding is relative to). */
export function reference(c: GemmCase): { values: Float64Array; scale: Float64Array } {
  const { a, b, bias } = inputsOf(c);
  const values = new Float64Array(c.batch * c.m * c.n);
  const scale = new Float64Array(values.length);
  for (let i = 0; i < c.batch; i++) {
    const aBase = c.broadcastA ? 0 : i * c.m * c.k;
    const bBase = i * c.k * c.n;
    for (let r = 0; r < c.m; r++) {
      for (let col = 0; col < c.n; col++) {
        let sum = c.bias ? bias[col] : 0;
        let abs = Math.abs(sum);
        for (let p = 0; p < c.k; p++) {
          const x = a[aBase + (c.transposeA ? p * c.m + r : r * c.k + p)];
          const y = b[bBase + (c.transposeB ? col * c.k + p : p * c.n + col)];
          sum += x * y;
          abs += Math.abs(x * y);
        }
        values[(i * c.m + r) * c.n + col] = sum;
        scale[(i * c.m + r) * c.n + col] = abs;
      }
    }
  }
  return { values, scale };
}
