import type { RgbImage } from './image.js';

/**
 * The ops PIL's ImageOps implements as `Image.point`: every channel value goes through a 256-entry
 * table (one per channel). The tables are Uint8ClampedArrays because PIL clips table entries to
 * 0-255, which equalize relies on.
 */

/** Values at or above `threshold` are inverted (ImageOps.solarize). */
export function solarize(src: RgbImage, dst: RgbImage, threshold: number): void {
  const table = tableOf((v) => (v < threshold ? v : 255 - v));
  point(src, dst, [table, table, table]);
}

/** Keeps the top `bits` bits of each value (ImageOps.posterize). */
export function posterize(src: RgbImage, dst: RgbImage, bits: number): void {
  const mask = ~(2 ** (8 - bits) - 1);
  const table = tableOf((v) => v & mask);
  point(src, dst, [table, table, table]);
}

/** Stretches each channel so its darkest value becomes 0 and its lightest 255 (ImageOps.autocontrast). */
export function autocontrast(src: RgbImage, dst: RgbImage): void {
  const tables = histograms(src).map((histogram) => {
    let lo = 0, hi = 255;
    while (lo < 255 && histogram[lo] === 0) lo++;
    while (hi > 0 && histogram[hi] === 0) hi--;
    if (hi <= lo) return identityTable();
    // PIL's exact float expression (Python floats are doubles), truncated as int() does.
    const scale = 255 / (hi - lo);
    const offset = -lo * scale;
    return tableOf((v) => Math.trunc(v * scale + offset));
  });
  point(src, dst, tables);
}

/**
 * Flattens each channel's histogram (ImageOps.equalize): value v maps to the number of pixels
 * below it, in steps of (pixels − count of the top value) / 255. A channel with too few pixels for
 * one step stays as it is.
 */
export function equalize(src: RgbImage, dst: RgbImage): void {
  const tables = histograms(src).map((histogram) => {
    let total = 0, top = 0;
    for (const count of histogram) {
      total += count;
      if (count > 0) top = count;
    }
    const step = Math.floor((total - top) / 255);
    if (step === 0) return identityTable();
    const table = new Uint8ClampedArray(256);
    let below = Math.floor(step / 2);
    for (let v = 0; v < 256; v++) {
      table[v] = Math.floor(below / step);
      below += histogram[v];
    }
    return table;
  });
  point(src, dst, tables);
}

function point(src: RgbImage, dst: RgbImage, tables: Uint8ClampedArray[]): void {
  const [red, green, blue] = tables;
  const from = src.pixels, to = dst.pixels;
  for (let i = 0; i < from.length; i += 3) {
    to[i] = red[from[i]];
    to[i + 1] = green[from[i + 1]];
    to[i + 2] = blue[from[i + 2]];
  }
}

function histograms(image: RgbImage): Int32Array[] {
  const counts = [new Int32Array(256), new Int32Array(256), new Int32Array(256)];
  const pixels = image.pixels;
  for (let i = 0; i < pixels.length; i += 3) {
    counts[0][pixels[i]]++;
    counts[1][pixels[i + 1]]++;
    counts[2][pixels[i + 2]]++;
  }
  return counts;
}

function tableOf(entry: (v: number) => number): Uint8ClampedArray {
  const table = new Uint8ClampedArray(256);
  for (let v = 0; v < 256; v++) table[v] = entry(v);
  return table;
}

function identityTable(): Uint8ClampedArray {
  return tableOf((v) => v);
}
