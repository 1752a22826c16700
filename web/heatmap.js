// Where a model looks, drawn as `vit attention` draws it (src/viz/attention-figure.ts): the
// 32×32 input upscaled smoothly, the map over the token grid stretched between its own minimum
// and maximum, upscaled bilinearly, coloured with vega's turbo scheme (0.1–0.9 of it) and
// blended over the image, 55% heat.

const HEAT_SHARE = 0.55;
let turbo = null;

function turboTable() {
  if (turbo) return turbo;
  const interpolate = vega.scheme('turbo');
  turbo = new Uint8Array(256 * 3);
  for (let v = 0; v < 256; v++) {
    const [r, g, b] = (interpolate(0.1 + (0.8 * v) / 255).match(/\d+/g) ?? ['0', '0', '0']).map(Number);
    turbo.set([r, g, b], 3 * v);
  }
  return turbo;
}

function loadImage(src) {
  return new Promise((resolve, reject) => {
    const image = new Image();
    image.onload = () => resolve(image);
    image.onerror = () => reject(new Error('image failed to load'));
    image.src = src;
  });
}

/** Draws `imageUrl` (the model's 32×32 input) into `canvas`, with `map` over it unless `map` is null. */
export async function drawInput(canvas, imageUrl, map, size = 160) {
  canvas.width = size;
  canvas.height = size;
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(await loadImage(imageUrl), 0, 0, size, size);
  if (!map) return;
  const pixels = ctx.getImageData(0, 0, size, size);
  const heat = upscale(stretch(map), size);
  const colours = turboTable();
  for (let i = 0; i < size * size; i++) {
    const v = Math.round(heat[i]);
    for (let c = 0; c < 3; c++) pixels.data[4 * i + c] = Math.round((1 - HEAT_SHARE) * pixels.data[4 * i + c] + HEAT_SHARE * colours[3 * v + c]);
  }
  ctx.putImageData(pixels, 0, 0);
}

function stretch(map) {
  const min = Math.min(...map);
  const range = Math.max(...map) - min || 1;
  return map.map((v) => (255 * (v - min)) / range);
}

/** Bilinear, sampling at pixel centres (as sharp's 'linear' resize does). */
function upscale(values, size) {
  const side = Math.round(Math.sqrt(values.length));
  const out = new Float32Array(size * size);
  const at = (x, y) => values[Math.min(side - 1, Math.max(0, y)) * side + Math.min(side - 1, Math.max(0, x))];
  for (let y = 0; y < size; y++) {
    const sy = ((y + 0.5) * side) / size - 0.5;
    const y0 = Math.floor(sy);
    const fy = sy - y0;
    for (let x = 0; x < size; x++) {
      const sx = ((x + 0.5) * side) / size - 0.5;
      const x0 = Math.floor(sx);
      const fx = sx - x0;
      const top = at(x0, y0) * (1 - fx) + at(x0 + 1, y0) * fx;
      const bottom = at(x0, y0 + 1) * (1 - fx) + at(x0 + 1, y0 + 1) * fx;
      out[y * size + x] = top * (1 - fy) + bottom * fy;
    }
  }
  return out;
}
