import type { SimpleVitConfig } from './config.js';
import { gridSide } from './config.js';

const TEMPERATURE = 10000;
const f32 = Math.fround;

/**
 * SimpleViT's fixed 2-D sin-cos position table [side², dim], row-major over the patch grid (the
 * token order of 'b h w d -> b (h w) d'): with q = dim/4 frequencies ω_k = 1 / T^(k / (q − 1)),
 * T = 10000, the token at row y, column x is [sin(x·ω), cos(x·ω), sin(y·ω), cos(y·ω)].
 * PyTorch rebuilds it in every forward pass, so it is in no state_dict; it is rebuilt here too.
 * Each step is rounded to float32 as PyTorch computes it in float32, so the tables agree to the bit
 * but for the last rounding of sin and cos.
 */
export function sinCosPositions(cfg: SimpleVitConfig): Float32Array {
  const side = gridSide(cfg);
  const q = cfg.dim / 4;
  const omega = Array.from({ length: q }, (_, k) => f32(1 / f32(TEMPERATURE ** f32(k / (q - 1)))));
  const table = new Float32Array(side * side * cfg.dim);
  for (let y = 0; y < side; y++) {
    for (let x = 0; x < side; x++) {
      const row = (y * side + x) * cfg.dim;
      for (let k = 0; k < q; k++) {
        const [ax, ay] = [f32(x * omega[k]), f32(y * omega[k])];
        table[row + k] = Math.sin(ax);
        table[row + q + k] = Math.cos(ax);
        table[row + 2 * q + k] = Math.sin(ay);
        table[row + 3 * q + k] = Math.cos(ay);
      }
    }
  }
  return table;
}
