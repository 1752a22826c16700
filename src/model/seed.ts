import type { Rng } from '../util/rng.js';

/**
 * A seed for a tfjs random op (truncatedNormal, dropout), drawn from our Rng.
 * tfjs treats a seed of 0 as "no seed" and falls back to Math.random, so 0 is never returned.
 */
export function tfSeed(rng: Rng): number {
  return rng.seed() || 1;
}
