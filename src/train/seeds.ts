import { Rng } from '../util/rng.js';

/**
 * Every random draw of a run is a pure function of the config seed and a counter, so a resumed
 * run replays exactly what the uninterrupted one would have drawn, without saving PRNG states:
 *   epochRng(seed, e)  shuffles and augments epoch e;
 *   stepSeed(seed, s)  seeds the dropout / drop-path masks of optimizer step s;
 *   flipRng(seed)      draws each image's first flip for data.flip_mode 'alternate' (every epoch
 *                      starts it afresh, so the draws do not depend on the epoch);
 *   whitenRng(seed)    samples the training images whose patches model.whiten_init whitens.
 * Streams are separated by a tag mixed into the seed.
 */
export function epochRng(seed: number, epoch: number): Rng {
  return new Rng(mix(seed, 0x0ea7, epoch));
}

export function stepSeed(seed: number, step: number): number {
  return new Rng(mix(seed, 0x5eed, step)).seed();
}

export function flipRng(seed: number): Rng {
  return new Rng(mix(seed, 0xf11b));
}

export function whitenRng(seed: number): Rng {
  return new Rng(mix(seed, 0x3a17));
}

function mix(...parts: number[]): number {
  let h = 0x811c9dc5; // FNV-1a over the bytes of the parts
  for (const p of parts) {
    for (let shift = 0; shift < 32; shift += 8) h = Math.imul(h ^ ((p >>> shift) & 0xff), 0x01000193) >>> 0;
  }
  return h;
}
