import * as tf from '@tensorflow/tfjs';

/**
 * The geometry of Swin's (shifted) windows, as constants of the config: the cyclic shift, the
 * masks that keep a shifted window's wrapped-around pieces apart, and the relative offsets that
 * index the position bias. Tokens within a window are numbered row-major, i = row · w + column.
 * The masks and indices are plain arrays: the forward pass, the ONNX graph and the PyTorch
 * state_dict (which holds the two masks of every shifted block) all read them from here.
 */

/** How far a shifted block moves the grid, up and left: ⌊window_size / 2⌋. */
export function displacement(windowSize: number): number {
  return Math.floor(windowSize / 2);
}

/**
 * torch.roll(x, shifts=(shift, shift), dims=(1, 2)) on NHWC x: out[i] = x[(i − shift) mod n] on
 * both spatial axes, written as two slices and a concat per axis (what the ONNX graph does too).
 */
export function cyclicShift<T extends tf.Tensor>(x: T, shift: number): T {
  let y: tf.Tensor = x;
  for (const axis of [1, 2]) {
    const n = y.shape[axis]!;
    const s = ((shift % n) + n) % n; // the first s rows (columns) of the output come from the end
    if (s === 0) continue;
    y = tf.concat([sliceAxis(y, axis, n - s, s), sliceAxis(y, axis, 0, n - s)], axis);
  }
  return y as T;
}

function sliceAxis(x: tf.Tensor, axis: number, begin: number, size: number): tf.Tensor {
  return tf.slice(
    x,
    x.shape.map((_, a) => (a === axis ? begin : 0)),
    x.shape.map((s, a) => (a === axis ? size : s)),
  );
}

/**
 * One of the two masks [w², w²] of a shifted block (0 or −∞), as berniwal's create_mask makes
 * them and the state_dict holds them: after the shift by d = ⌊w/2⌋, the last d rows ('rows': the
 * upper/lower mask) or columns ('columns': left/right) of a window at the grid's bottom (right)
 * edge hold pixels from the opposite edge, which must not attend to the rest of the window, nor
 * it to them. Pair (i, j) is −∞ when exactly one of i, j lies in those last d rows (columns).
 */
export function edgeMask(windowSize: number, which: 'rows' | 'columns'): Float32Array {
  const w = windowSize;
  const d = displacement(w);
  const coordinate = (token: number) => (which === 'rows' ? Math.floor(token / w) : token % w);
  const wrapped = (token: number) => coordinate(token) >= w - d;
  const mask = new Float32Array(w ** 4);
  for (let i = 0; i < w * w; i++) {
    for (let j = 0; j < w * w; j++) if (wrapped(i) !== wrapped(j)) mask[i * w * w + j] = -Infinity;
  }
  return mask;
}

/**
 * The mask every window of a shifted block adds to its attention logits, [windows, w², w²]
 * (windows row-major over a side × side grid): the upper/lower mask on the bottom row of windows,
 * the left/right mask on the right column of windows, both on the corner window (berniwal's
 * `dots[:, :, -nw_w:] += upper_lower_mask; dots[:, :, nw_w - 1::nw_w] += left_right_mask`).
 */
export function shiftedWindowMask(windowSize: number, side: number): Float32Array {
  const perSide = side / windowSize;
  const pairs = windowSize ** 4;
  const rows = edgeMask(windowSize, 'rows');
  const columns = edgeMask(windowSize, 'columns');
  const mask = new Float32Array(perSide * perSide * pairs);
  for (let wr = 0; wr < perSide; wr++) {
    for (let wc = 0; wc < perSide; wc++) {
      const at = (wr * perSide + wc) * pairs;
      for (let k = 0; k < pairs; k++) mask[at + k] = (wr === perSide - 1 ? rows[k] : 0) + (wc === perSide - 1 ? columns[k] : 0);
    }
  }
  return mask;
}

/**
 * For each pair (query i, key j) of a window, row-major over [w², w²], the flat index into the
 * bias table [2w − 1, 2w − 1] of their offset (row_j − row_i + w − 1, column_j − column_i + w − 1):
 * berniwal's `pos_embedding[relative_indices[:, :, 0], relative_indices[:, :, 1]]`.
 */
export function relativePositionIndex(windowSize: number): Int32Array {
  const w = windowSize;
  const index = new Int32Array(w ** 4);
  for (let i = 0; i < w * w; i++) {
    for (let j = 0; j < w * w; j++) {
      const dr = Math.floor(j / w) - Math.floor(i / w) + w - 1;
      const dc = (j % w) - (i % w) + w - 1;
      index[i * w * w + j] = dr * (2 * w - 1) + dc;
    }
  }
  return index;
}

/**
 * The relative-position gather as a matrix [w⁴, (2w − 1)²] of ones at (pair, its offset's index),
 * so that bias = G · vec(table) is a product: its gradient Gᵀ · dbias is one too, where tf.gather's
 * needs UnsortedSegmentSum, which the wasm backend lacks.
 */
export function relativePositionGather(windowSize: number): tf.Tensor2D {
  const index = relativePositionIndex(windowSize);
  const offsets = (2 * windowSize - 1) ** 2;
  const onehot = new Float32Array(index.length * offsets);
  index.forEach((offset, pair) => (onehot[pair * offsets + offset] = 1));
  return tf.tensor2d(onehot, [index.length, offsets]);
}
