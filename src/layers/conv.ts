import * as tf from '@tensorflow/tfjs';
import { hasKernel } from '../backend/kernel-traits.js';
import { rearrange } from '../einops/index.js';
import { DEPTHWISE_CONV, DEPTHWISE_CONV_GRAD, IM2COL, IM2COL_GRAD } from '../backend/fused-kernels.js';
import { columnSums, linear, linearOfData, matMulT } from './linear.js';

/**
 * A 2-D convolution, NHWC, as im2col then one matrix product: every k×k window (after zero
 * padding) becomes a row of k·k·c values in (row, column, channel) order, and `weight`
 * [k, k, c_in, c_out] is that many rows of a Linear, so the product runs on the fastest GEMM the
 * backend has and no Conv2DBackpropFilter is needed (tfjs-backend-wasm has none). `bias` [c_out]
 * is added when given. `inputIsData`: x is a function of no parameter (the images, alive until
 * the step ends), so its gradient is never computed.
 */
export function conv2d(x: tf.Tensor4D, weight: tf.Tensor, stride: number, padding: number, inputIsData = false, bias?: tf.Tensor): tf.Tensor4D {
  const [kh, kw, cin] = weight.shape;
  const channels = x.shape[3];
  if (channels !== cin) throw new Error(`conv2d: input has ${channels} channels, the weight expects ${cin}`);
  if (kh !== kw) throw new Error(`conv2d: the kernel must be square, got ${kh}×${kw}`);
  const y = hasKernel(IM2COL) ? convByFusedWindows(x, weight, stride, padding, inputIsData) : convByWindows(x, weight, stride, padding, inputIsData);
  return bias ? (addBias(y, bias) as tf.Tensor4D) : y;
}

/** The windows in tfjs ops, kept for the backward pass; gradients by autodiff (slices, pads, `linear`'s product). */
function convByWindows(x: tf.Tensor4D, weight: tf.Tensor, stride: number, padding: number, inputIsData: boolean): tf.Tensor4D {
  const [kh, kw, cin, cout] = weight.shape;
  const patches = windows(x, kh, stride, padding);
  const rows = tf.reshape(weight, [kh * kw * cin, cout]);
  return (inputIsData ? linearOfData(patches, rows) : linear(patches, rows)) as tf.Tensor4D;
}

/**
 * With the fused IM2COL and IM2COL_GRAD kernels (the native addon): the backward pass keeps the
 * input, not its windows (k² times its size: 9× for a 3×3 conv), and makes them again:
 *   y = W(x)·w,  dw = W(x)ᵀ·dy,  dx = col2im(dy·wᵀ)  with W(x) the windows of x.
 */
function convByFusedWindows(x: tf.Tensor4D, weight: tf.Tensor, stride: number, padding: number, inputIsData: boolean): tf.Tensor4D {
  const [kh, kw, cin, cout] = weight.shape;
  const [batch, height, width] = x.shape;
  const attrs = { kernel: kh, stride, padding };
  const windowRows = (input: tf.Tensor) => {
    const w = tf.engine().runKernel(IM2COL, { x: input } as tf.NamedTensorMap, attrs) as tf.Tensor4D;
    return { rows: tf.reshape(w, [-1, kh * kw * cin]) as tf.Tensor2D, outH: w.shape[1], outW: w.shape[2] };
  };
  const forward = (input: tf.Tensor, w: tf.Tensor) => {
    const { rows, outH, outW } = windowRows(input);
    return tf.reshape(tf.matMul(rows, tf.reshape(w, [kh * kw * cin, cout]) as tf.Tensor2D), [batch, outH, outW, cout]) as tf.Tensor4D;
  };
  const weightGrad = (input: tf.Tensor, dy: tf.Tensor) => tf.reshape(matMulT(windowRows(input).rows, tf.reshape(dy, [-1, cout]), true, false), weight.shape);
  if (inputIsData) {
    const op = tf.customGrad((w, save) => {
      (save as tf.GradSaveFunc)([x]); // the images: kept, not recomputed
      return { value: forward(x, w as tf.Tensor), gradFunc: (dy, [input]) => tf.tidy(() => weightGrad(input, dy)) };
    }) as (w: tf.Tensor) => tf.Tensor4D;
    return op(weight);
  }
  const op = tf.customGrad((input, w, save) => {
    (save as tf.GradSaveFunc)([input as tf.Tensor, w as tf.Tensor]);
    return {
      value: forward(input as tf.Tensor, w as tf.Tensor),
      gradFunc: (dy, [input, w]) =>
        tf.tidy(() => {
          const dWindows = tf.reshape(matMulT(tf.reshape(dy, [-1, cout]), tf.reshape(w, [kh * kw * cin, cout]), false, true), [batch, dy.shape[1]!, dy.shape[2]!, kh * kw * cin]);
          const dx = tf.engine().runKernel(IM2COL_GRAD, { dy: dWindows } as tf.NamedTensorMap, { ...attrs, height, width, channels: cin }) as tf.Tensor;
          return [dx, weightGrad(input, dy)];
        }),
    };
  }) as (x: tf.Tensor, w: tf.Tensor) => tf.Tensor4D;
  return op(x, weight);
}

/** x + bias over the last axis; the bias gradient (a column sum) is a product, as wasm's Sum over rows is slow. */
const addBias = tf.customGrad((x, bias) => ({
  value: tf.add(x as tf.Tensor, bias as tf.Tensor),
  gradFunc: (dy) => tf.tidy(() => [tf.clone(dy), columnSums(tf.reshape(dy, [-1, (bias as tf.Tensor).shape[0]]))]),
})) as (x: tf.Tensor, bias: tf.Tensor) => tf.Tensor;

/**
 * A depthwise convolution, NHWC: each channel c convolved with its own k×k filter `weight`
 * [k, k, 1, c] (PyTorch's Conv2d(c, c, k, stride, groups=c), weight [c, 1, k, k]), plus `bias` [c],
 * over x zero-padded by `pad` [top, bottom, left, right] (PyTorch's padding='same' pads an even
 * kernel one more below and right: top (k−1)/2 rounded down), the window moving `stride` pixels.
 * One fused kernel each way where the backend has them (DEPTHWISE_CONV, DEPTHWISE_CONV_GRAD: the
 * backward pass keeps x, not its k² shifted copies); else k² shifted slices, each times its filter
 * tap, summed, and every stride-th output of that.
 */
export function depthwiseConv2d(x: tf.Tensor4D, weight: tf.Tensor, bias: tf.Tensor, pad: [number, number, number, number], stride = 1): tf.Tensor4D {
  const [k, kw, one, channels] = weight.shape;
  if (k !== kw || one !== 1 || channels !== x.shape[3]) throw new Error(`depthwiseConv2d: weight [${weight.shape}] for input [${x.shape}]`);
  const attrs = { kernel: k, padTop: pad[0], padBottom: pad[1], padLeft: pad[2], padRight: pad[3], stride };
  if (!hasKernel(DEPTHWISE_CONV)) {
    const full = shiftedTaps(x, weight, bias, pad);
    return stride === 1 ? full : everyNth(full, stride);
  }
  const op = tf.customGrad((input, w, b, save) => {
    (save as tf.GradSaveFunc)([input as tf.Tensor, w as tf.Tensor]);
    return {
      value: tf.engine().runKernel(DEPTHWISE_CONV, { x: input, weight: w, bias: b } as tf.NamedTensorMap, attrs) as tf.Tensor4D,
      gradFunc: (dy, [input, w]) => tf.engine().runKernel(DEPTHWISE_CONV_GRAD, { dy, x: input, weight: w } as tf.NamedTensorMap, attrs) as tf.Tensor[],
    };
  }) as (x: tf.Tensor, w: tf.Tensor, b: tf.Tensor) => tf.Tensor4D;
  return op(x, weight, bias);
}

/** The depthwise convolution in tfjs ops: Σ over taps (i, j) of the padded input shifted by (i, j), times w[i, j]. */
function shiftedTaps(x: tf.Tensor4D, weight: tf.Tensor, bias: tf.Tensor, [top, bottom, left, right]: [number, number, number, number]): tf.Tensor4D {
  const [k, , , channels] = weight.shape;
  const [b, height, width] = x.shape;
  const outH = height + top + bottom - k + 1;
  const outW = width + left + right - k + 1;
  const padded = tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]);
  const taps = tf.reshape(weight, [k, k, channels]);
  let sum: tf.Tensor = tf.reshape(bias, [1, 1, 1, channels]);
  for (let i = 0; i < k; i++) {
    for (let j = 0; j < k; j++) {
      const tap = tf.reshape(tf.slice(taps, [i, j, 0], [1, 1, channels]), [1, 1, 1, channels]);
      sum = tf.add(sum, tf.mul(tf.slice(padded, [0, i, j, 0], [b, outH, outW, channels]), tap));
    }
  }
  return sum as tf.Tensor4D;
}

/** x[:, ::n, ::n, :] (zeros padded below and right to a multiple of n, never read): tfjs has no gradient for StridedSlice, so a reshape and a slice. */
function everyNth(x: tf.Tensor4D, n: number): tf.Tensor4D {
  const [b, height, width, c] = x.shape;
  const [outH, outW] = [Math.ceil(height / n), Math.ceil(width / n)];
  const padded = outH * n === height && outW * n === width ? x : tf.pad(x, [[0, 0], [0, outH * n - height], [0, outW * n - width], [0, 0]]);
  const blocks = rearrange(padded, 'b (h s1) (w s2) c -> b h s1 w s2 c', { s1: n, s2: n });
  return rearrange(tf.slice(blocks, [0, 0, 0, 0, 0, 0], [b, outH, 1, outW, 1, c]), 'b h 1 w 1 c -> b h w c');
}

/** PyTorch's padding='same' for a stride-1 kernel k: [top, bottom, left, right], the extra row and column of an even kernel below and right. */
export function samePadding(k: number): [number, number, number, number] {
  const before = Math.floor((k - 1) / 2);
  return [before, k - 1 - before, before, k - 1 - before];
}

/** The mean over every position of NHWC x, [b, c]: one product per sample, so its gradient is a product too. */
export function globalAveragePool(x: tf.Tensor4D): tf.Tensor2D {
  const [b, h, w, c] = x.shape;
  const positions = h * w;
  const perSample = tf.reshape(x, [b, positions, c]);
  return tf.reshape(tf.matMul(tf.fill([1, 1, positions], 1 / positions), perSample), [b, c]) as tf.Tensor2D;
}

/**
 * The output side of a convolution or pooling window over a side `size` padded by `padding` on
 * each side (PyTorch's formula, floor rounding): ⌊(size + 2·padding − kernel) / stride⌋ + 1.
 */
export function convOutputSize(size: number, kernel: number, stride: number, padding: number): number {
  return Math.floor((size + 2 * padding - kernel) / stride) + 1;
}

/** The same windows in tfjs ops: k·k shifted slices of the padded image, concatenated. */
function windows(x: tf.Tensor4D, kh: number, stride: number, padding: number): tf.Tensor4D {
  const kw = kh;
  const [, height, width] = x.shape;
  const outH = convOutputSize(height, kh, stride, padding);
  const outW = convOutputSize(width, kw, stride, padding);
  // With a stride, each window's (i, j) elements are read as every stride-th of stride·out rows
  // and columns; the extra zeros below and right make those ranges exist and are never read.
  const extraH = Math.max(0, kh - 1 + stride * outH - (height + 2 * padding));
  const extraW = Math.max(0, kw - 1 + stride * outW - (width + 2 * padding));
  const padded = padding + extraH + extraW > 0 ? tf.pad(x, [[0, 0], [padding, padding + extraH], [padding, padding + extraW], [0, 0]]) : x;
  const elements: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) elements.push(shifted(padded, i, j, outH, outW, stride));
  }
  // [b, outH, outW, (kh kw c)]: the window offsets are the slower axes, as in weight's layout.
  return tf.concat(elements, 3) as tf.Tensor4D;
}

/** x[:, i + stride·r, j + stride·c, :] for r < outH, c < outW: the (i, j) element of every window. */
function shifted(x: tf.Tensor4D, i: number, j: number, outH: number, outW: number, stride: number): tf.Tensor {
  const [b, , , c] = x.shape;
  if (stride === 1) return tf.slice(x, [0, i, j, 0], [b, outH, outW, c]);
  // tfjs has no gradient for StridedSlice: take a contiguous block, then the first of each stride.
  const block = rearrange(tf.slice(x, [0, i, j, 0], [b, stride * outH, stride * outW, c]), 'b (h s1) (w s2) c -> b h s1 w s2 c', { s1: stride, s2: stride });
  return rearrange(tf.slice(block, [0, 0, 0, 0, 0, 0], [b, outH, 1, outW, 1, c]), 'b h 1 w 1 c -> b h w c');
}

/**
 * PyTorch's MaxPool2d(kernel, stride, padding): padding counts as −∞ (never the maximum), and the
 * output side is floor((s + 2·padding − kernel) / stride) + 1. tfjs's MaxPool and its gradient
 * (MaxPoolGrad) exist on every backend used here, wasm included.
 */
export function maxPool(x: tf.Tensor4D, kernel: number, stride: number, padding: number): tf.Tensor4D {
  return tf.maxPool(x, kernel, stride, padding, 'floor');
}
