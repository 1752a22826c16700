import * as tf from '@tensorflow/tfjs';

/**
 * Muon (Keller Jordan, 2024: github.com/KellerJordan/Muon, modded-nanogpt): SGD momentum whose
 * update is replaced, for each weight matrix, by the nearest semi-orthogonal matrix, computed with
 * a few Newton–Schulz iterations. Conv weights are matrices too, their windows' values being the
 * inputs. Everything else (and the classifier head) is trained by AdamW beside it (optimizer.ts).
 */

/**
 * The quintic iteration's coefficients, chosen to maximise its slope at zero: X ← aX + (bA + cA²)X
 * with A = XXᵀ. It does not converge to UVᵀ exactly but to something like U·S'·Vᵀ with S'ᵢᵢ
 * spread over about (0.5, 1.5), which its authors found does not hurt.
 */
const [A, B, C] = [3.4445, -4.775, 2.0315];

/**
 * The Newton–Schulz approximation of U·Vᵀ for G = U·S·Vᵀ (its "zeroth power"), in float32 (the
 * reference runs it in bfloat16 on GPUs). As the reference: it iterates on the wide orientation
 * (rows ≤ columns, so that XXᵀ is the smaller product) and first scales G to Frobenius norm 1,
 * which bounds its spectral norm by 1. Transposing or permuting the rows of G transposes or
 * permutes the result, so our [in, out] layout gives the transpose of PyTorch's [out, in] result.
 */
export function orthogonalize(g: tf.Tensor2D, steps: number): tf.Tensor2D {
  return tf.tidy(() => {
    const [rows, cols] = g.shape;
    const tall = rows > cols;
    let x: tf.Tensor2D = tall ? tf.transpose(g) : g;
    x = tf.div(x, tf.add(tf.norm(x), 1e-7));
    for (let i = 0; i < steps; i++) {
      // An explicit transpose and a plain product: the fast form on every backend.
      const a = tf.matMul(x, tf.transpose(x));
      const b = tf.add(tf.mul(a, B), tf.mul(tf.matMul(a, a), C));
      x = tf.add(tf.mul(x, A), tf.matMul(b, x));
    }
    return tall ? tf.transpose(x) : x;
  });
}

export interface MuonSettings {
  momentum: number;
  nesterov: boolean;
  ns_steps: number;
}

/**
 * One parameter's Muon update direction (to be scaled by −lr), the reference's `muon_update`:
 * the momentum buffer `buffer` ← momentum·buffer + (1 − momentum)·g (assigned here); with
 * Nesterov the update uses (1 − momentum)·g + momentum·buffer instead of the buffer; it is
 * orthogonalized as the 2-D matrix [rows, out] (a conv weight [k, k, c_in, c_out] as
 * [k·k·c_in, c_out]), then scaled by √max(1, out/in) so that a matrix with more outputs than
 * inputs gets updates of the same per-element size as a square one (PyTorch's
 * max(1, rows/cols) of its [out, in] weight).
 */
/** The 2-D view Muon orthogonalizes ([rows = inputs, cols = outputs]) and its update's scale √max(1, out/in). */
export function muonMatrix(shape: number[]): { rows: number; cols: number; scale: number } {
  const cols = shape[shape.length - 1];
  const rows = shape.reduce((a, b) => a * b, 1) / cols;
  return { rows, cols, scale: Math.sqrt(Math.max(1, cols / rows)) };
}

export function muonUpdate(g: tf.Tensor, buffer: tf.Variable, settings: MuonSettings): tf.Tensor {
  return tf.tidy(() => {
    const { momentum, nesterov, ns_steps: steps } = settings;
    const next = tf.add(tf.mul(buffer, momentum), tf.mul(g, 1 - momentum));
    buffer.assign(next);
    const direction = nesterov ? tf.add(tf.mul(g, 1 - momentum), tf.mul(next, momentum)) : next;
    const { rows, cols, scale } = muonMatrix(g.shape);
    const update = orthogonalize(tf.reshape(direction, [rows, cols]), steps);
    return tf.reshape(tf.mul(update, scale), g.shape);
  });
}
