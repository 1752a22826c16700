import * as tf from '@tensorflow/tfjs';
import { hasKernel } from '../backend/kernel-traits.js';
import { rearrange } from '../einops/index.js';
import { IM2COL, IM2COL_GRAD } from './fused-kernels.js';
import { linear, linearOfData } from './layers.js';

/**
 * A 2-D convolution without bias, NHWC, as im2col then one matrix product: every k×k window
 * (after zero padding) becomes a row of k·k·c values in (row, column, channel) order, and
 * `weight` [k, k, c_in, c_out] is that many rows of a Linear. Its gradients are those of slices
 * (pads) and of `linear`'s plain 2-D matMul, so no Conv2DBackpropFilter is needed (tfjs-backend-wasm
 * has none) and the product runs on the fastest GEMM the backend has. Where the backend has the
 * fused IM2COL kernel (the native addon), the windows are one kernel each way instead.
 * `inputIsData`: x is a function of no parameter (the images), so its gradient is never computed.
 */
export function conv2d(x: tf.Tensor4D, weight: tf.Tensor, stride: number, padding: number, inputIsData = false): tf.Tensor4D {
  const [kh, kw, cin, cout] = weight.shape;
  const channels = x.shape[3];
  if (channels !== cin) throw new Error(`conv2d: input has ${channels} channels, the weight expects ${cin}`);
  if (kh !== kw) throw new Error(`conv2d: the kernel must be square, got ${kh}×${kw}`);
  const patches = hasKernel(IM2COL) ? fusedWindows(x, kh, stride, padding) : windows(x, kh, stride, padding);
  const rows = tf.reshape(weight, [kh * kw * cin, cout]);
  return (inputIsData ? linearOfData(patches, rows) : linear(patches, rows)) as tf.Tensor4D;
}

/** IM2COL and IM2COL_GRAD: each direction one kernel (the gradient sums overlapping windows back). */
function fusedWindows(x: tf.Tensor4D, kernel: number, stride: number, padding: number): tf.Tensor4D {
  const [, height, width, channels] = x.shape;
  const attrs = { kernel, stride, padding };
  const im2col = tf.customGrad((input) => ({
    value: tf.engine().runKernel(IM2COL, { x: input } as tf.NamedTensorMap, attrs) as tf.Tensor4D,
    gradFunc: (dy) => tf.engine().runKernel(IM2COL_GRAD, { dy } as tf.NamedTensorMap, { ...attrs, height, width, channels }) as tf.Tensor,
  }));
  return im2col(x) as tf.Tensor4D;
}

/** The same windows in tfjs ops: k·k shifted slices of the padded image, concatenated. */
function windows(x: tf.Tensor4D, kh: number, stride: number, padding: number): tf.Tensor4D {
  const kw = kh;
  const [, height, width] = x.shape;
  const outH = Math.floor((height + 2 * padding - kh) / stride) + 1;
  const outW = Math.floor((width + 2 * padding - kw) / stride) + 1;
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
