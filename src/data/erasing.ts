import type { Rng } from '../util/rng.js';
import { normal } from './sampling.js';

/**
 * Random erasing (Zhong et al. 2020) as timm's `RandomErasing(probability, mode)` does it with its
 * other defaults: with the given probability, one rectangle of 2% to 1/3 of the image, aspect ratio
 * log-uniform in 0.3-3.3, placed uniformly; up to 10 tries to draw one that fits, else nothing. It
 * works on the normalized image: 'pixel' fills the rectangle with standard normal noise, 'const'
 * with 0 (the dataset's mean colour).
 */
export interface ErasingOptions {
  probability: number;
  mode: 'pixel' | 'const';
}

export interface EraseBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

const MIN_AREA = 0.02;
const MAX_AREA = 1 / 3;
const LOG_ASPECT = [Math.log(0.3), Math.log(1 / 0.3)] as const;
const ATTEMPTS = 10;

/** Erases one rectangle of `image` (one normalized HWC image of `height`·`width` RGB pixels), or not. */
export function randomErase(image: Float32Array, height: number, width: number, options: ErasingOptions, rng: Rng): void {
  if (rng.next() >= options.probability) return;
  const box = eraseBox(height, width, rng);
  if (box === null) return;
  for (let y = box.top; y < box.top + box.height; y++) {
    for (let i = (y * width + box.left) * 3; i < (y * width + box.left + box.width) * 3; i++) {
      image[i] = options.mode === 'pixel' ? normal(rng) : 0;
    }
  }
}

/** The rectangle, or null when 10 tries all came out too tall or too wide for the image. */
export function eraseBox(height: number, width: number, rng: Rng): EraseBox | null {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const area = rng.uniform(MIN_AREA, MAX_AREA) * height * width;
    const aspect = Math.exp(rng.uniform(...LOG_ASPECT));
    const h = Math.round(Math.sqrt(area * aspect));
    const w = Math.round(Math.sqrt(area / aspect));
    if (h < height && w < width) return { top: rng.int(height - h + 1), left: rng.int(width - w + 1), height: h, width: w };
  }
  return null;
}
