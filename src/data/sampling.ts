import type { Rng } from '../util/rng.js';

/**
 * The two continuous distributions the augmentations need, drawn from our seeded `Rng` (numpy's
 * and torch's generators are what timm uses; only the distributions carry over, not the streams).
 */

/** A standard normal sample (Box-Muller; the second value of the pair is not kept). */
export function normal(rng: Rng): number {
  const u = 1 - rng.next(); // in (0, 1], so the log is finite
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
}

/**
 * A Beta(a, b) sample, X / (X + Y) for X ~ Gamma(a) and Y ~ Gamma(b). Computed from the logs of X
 * and Y: for a small shape such as mixup's α = 0.2 both can underflow to 0 and give 0 / 0.
 */
export function beta(rng: Rng, a: number, b: number): number {
  const logX = logGamma(rng, a);
  return 1 / (1 + Math.exp(logGamma(rng, b) - logX));
}

/**
 * The log of a Gamma(shape, 1) sample: Marsaglia & Tsang (2000), with their boost
 * Gamma(shape) = Gamma(shape + 1) · U^(1/shape) for shape below 1.
 */
function logGamma(rng: Rng, shape: number): number {
  if (shape < 1) return logGamma(rng, shape + 1) + Math.log(1 - rng.next()) / shape;
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    const x = normal(rng);
    const v = (1 + c * x) ** 3;
    if (v > 0 && Math.log(1 - rng.next()) < 0.5 * x * x + d - d * v + d * Math.log(v)) return Math.log(d * v);
  }
}
