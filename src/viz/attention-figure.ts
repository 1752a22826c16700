import sharp, { type OverlayOptions } from 'sharp';
import type { RgbImage } from './image-io.js';

/** One image's row of the figure: the model's input, where it looks, and optionally per layer and head. */
export interface AttentionPanel {
  title: string;
  image: RgbImage;
  /** Weights over the token grid, row-major, side √length. */
  map: ArrayLike<number>;
  /** [layer][head] maps over the same grid. */
  heads?: ArrayLike<number>[][];
}

const CELL = 160;
const SMALL = 64;
const GAP = 6;
const TITLE = 24;
const GUTTER = 64;
/** How much of an overlay pixel is heatmap (the rest is the image). */
const HEAT_SHARE = 0.55;

/**
 * A PNG: per image, a title line, the model's 32×32 input (pixels upscaled as squares), and the
 * map upscaled smoothly and overlaid as a heatmap (turbo colours: blue little, red most); with
 * `heads`, a grid of the per-layer (rows), per-head (columns) maps below. Each map is stretched
 * between its own minimum and maximum, so the picture shows where, not how much.
 */
export async function attentionFigure(panels: AttentionPanel[]): Promise<Buffer> {
  const colours = await turboTable();
  const layers = panels[0]?.heads?.length ?? 0;
  const heads = panels[0]?.heads?.[0]?.length ?? 0;
  const gridWidth = layers ? GUTTER + heads * (SMALL + GAP) : 0;
  const gridHeight = layers ? TITLE + layers * (SMALL + GAP) : 0;
  const width = Math.max(GAP + 2 * (CELL + GAP) + 20, gridWidth + GAP);
  const blockHeight = TITLE + CELL + GAP + gridHeight;
  const height = TITLE + panels.length * blockHeight + GAP;

  const pieces: OverlayOptions[] = [];
  // Column captions once, at the top; the colour scale in words.
  const texts = [text(GAP, 16, 'model input', 12), text(2 * GAP + CELL, 16, 'attention (blue low, red high)', 12)];
  for (const [p, panel] of panels.entries()) {
    const top = TITLE + p * blockHeight + GAP;
    texts.push(text(GAP, top + 16, panel.title, 14, 'bold'));
    pieces.push(await placed(await upscaled(panel.image, CELL, 'nearest'), GAP, top + TITLE));
    pieces.push(await placed(await overlay(panel.image, panel.map, CELL, colours), 2 * GAP + CELL, top + TITLE));
    if (!panel.heads) continue;
    const gridTop = top + TITLE + CELL + GAP;
    panel.heads[0].forEach((_, h) => texts.push(text(GUTTER + h * (SMALL + GAP) + 4, gridTop + 16, `head ${h + 1}`, 12)));
    for (const [l, layerMaps] of panel.heads.entries()) {
      const rowTop = gridTop + TITLE + l * (SMALL + GAP);
      texts.push(text(GAP, rowTop + SMALL / 2 + 4, `layer ${l + 1}`, 12));
      for (const [h, map] of layerMaps.entries()) pieces.push(await placed(await overlay(panel.image, map, SMALL, colours), GUTTER + h * (SMALL + GAP), rowTop));
    }
  }
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="DejaVu Sans, sans-serif">${texts.join('')}</svg>`;
  pieces.push({ input: Buffer.from(svg), left: 0, top: 0 });
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } }).composite(pieces).removeAlpha().png().toBuffer();
}

async function upscaled(image: RgbImage, size: number, kernel: 'nearest' | 'linear'): Promise<RgbImage> {
  const data = await sharp(image.pixels, { raw: { width: image.width, height: image.height, channels: 3 } })
    .resize(size, size, { kernel })
    .raw()
    .toBuffer();
  return { width: size, height: size, pixels: data };
}

/** The map, stretched to [0, 255] between its minimum and maximum, upscaled smoothly, coloured and blended over the image. */
async function overlay(image: RgbImage, map: ArrayLike<number>, size: number, colours: Uint8Array): Promise<RgbImage> {
  const side = Math.round(Math.sqrt(map.length));
  const values = Array.from(map);
  const min = Math.min(...values);
  const range = Math.max(...values) - min || 1;
  const grey = Uint8Array.from(values, (v) => Math.round((255 * (v - min)) / range));
  const heat = await sharp(grey, { raw: { width: side, height: side, channels: 1 } }).resize(size, size, { kernel: 'linear' }).extractChannel(0).raw().toBuffer();
  const base = await upscaled(image, size, 'linear');
  const pixels = new Uint8Array(size * size * 3);
  for (let i = 0; i < size * size; i++) {
    for (let c = 0; c < 3; c++) {
      pixels[3 * i + c] = Math.round((1 - HEAT_SHARE) * base.pixels[3 * i + c] + HEAT_SHARE * colours[3 * heat[i] + c]);
    }
  }
  return { width: size, height: size, pixels };
}

async function placed(image: RgbImage, left: number, top: number): Promise<OverlayOptions> {
  return { input: Buffer.from(image.pixels), raw: { width: image.width, height: image.height, channels: 3 }, left, top };
}

/**
 * 256 RGB entries of vega's "turbo" scheme (a smooth, perceptually ordered rainbow), from 0.1 to
 * 0.9 of it: its ends are so dark that, blended over an image, they would read as grey.
 */
async function turboTable(): Promise<Uint8Array> {
  const { scheme } = await import('vega');
  const interpolate = scheme('turbo') as (t: number) => string;
  const table = new Uint8Array(256 * 3);
  for (let v = 0; v < 256; v++) {
    const [r, g, b] = (interpolate(0.1 + (0.8 * v) / 255).match(/\d+/g) ?? ['0', '0', '0']).map(Number);
    table.set([r, g, b], 3 * v);
  }
  return table;
}

function text(x: number, y: number, content: string, size: number, weight = 'normal'): string {
  const escaped = content.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  return `<text x="${x}" y="${y}" font-size="${size}" font-weight="${weight}" fill="#222">${escaped}</text>`;
}
