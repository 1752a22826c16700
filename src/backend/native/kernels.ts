import * as tf from '@tensorflow/tfjs';
import type { BatchNormActivation } from '../../layers/batch-norm.js';
import { type NativeAddon, nativeStatus } from './addon.js';
import {
  AFFINE,
  ATTENTION,
  ATTENTION_GRAD,
  BATCH_NORM,
  BATCH_NORM_GRAD,
  BATCH_NORM_APPLY,
  DEPTHWISE_CONV,
  DEPTHWISE_CONV_GRAD,
  GELU,
  GELU_GRAD,
  IM2COL,
  IM2COL_GRAD,
  LAYER_NORM,
  LAYER_NORM_GRAD,
  OPTIMIZER_STEP,
  type OptimizerParameter,
  type OptimizerRule,
  SILU,
  SILU_GRAD,
  WINDOW_ATTENTION,
  WINDOW_ATTENTION_GRAD,
} from '../fused-kernels.js';

/**
 * On tfjs-backend-wasm, matrix products run single-threaded in wasm SIMD (batched or transposed
 * ones on a scalar fallback), and erf and exp one element at a time. The native addon (addon.ts)
 * runs them on the wasm heap itself, without copying: products with its own multithreaded GEMM;
 * GELU, LayerNorm, whole attention and Swin's window attention (forward and gradient) on all
 * cores; CCT's im2col (and its gradient) and max pooling's gradient likewise. `useNativeKernels`
 * makes the addon's product wasm's BatchMatMul kernel and registers the fused kernels of
 * src/backend/fused-kernels.ts; without the addon (or with VIT_NATIVE=0, to measure against the
 * plain backend) nothing changes.
 */

/** The parts of tfjs-backend-wasm's BackendWasm these kernels use. */
interface WasmBackend {
  wasm: { HEAPU8: Uint8Array };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  getMemoryOffset(dataId: object): number;
}

type MatMulArgs = { inputs: { a: tf.TensorInfo; b: tf.TensorInfo }; backend: WasmBackend; attrs: { transposeA: boolean; transposeB: boolean } };

let installed: { installed: boolean; reason: string } | null = null;

/**
 * Installs the native kernels into the wasm backend, once per process; call it after the wasm
 * backend is loaded (it registers its own kernels at import, which would replace ours). Returns
 * whether they are in use and, if not, why.
 */
export function useNativeKernels(): { installed: boolean; reason: string } {
  if (installed) return installed;
  const native = nativeStatus();
  if (!native.available) {
    installed = { installed: false, reason: native.reason };
    return installed;
  }
  const addon = native.addon;
  overrideWasmKernel(tf.BatchMatMul, (args: MatMulArgs) => nativeBatchMatMul(addon, args));
  registerElementwise(GELU, ({ x }, backend, out) => addon.gelu(heapOf(backend), at(backend, x), at(backend, out), tf.util.sizeFromShape(x.shape)));
  registerElementwise(GELU_GRAD, ({ x, dy }, backend, out) =>
    addon.geluGrad(heapOf(backend), at(backend, x), at(backend, dy), at(backend, out), tf.util.sizeFromShape(x.shape)),
  );
  registerElementwise(SILU, ({ x }, backend, out) => addon.silu(heapOf(backend), at(backend, x), at(backend, out), tf.util.sizeFromShape(x.shape)));
  registerElementwise(SILU_GRAD, ({ x, dy }, backend, out) =>
    addon.siluGrad(heapOf(backend), at(backend, x), at(backend, dy), at(backend, out), tf.util.sizeFromShape(x.shape)),
  );
  registerLayerNorm(addon);
  registerAttention(addon);
  registerWindows(addon);
  registerAffine(addon);
  registerAdd(addon);
  registerOptimizerStep(addon);
  registerSlices(addon);
  registerDepthwise(addon);
  registerBatchNorm(addon);
  installed = { installed: true, reason: '' };
  return installed;
}

/** A tensor's byte offset in the wasm heap. */
function at(backend: WasmBackend, t: tf.TensorInfo): number {
  return backend.getMemoryOffset(t.dataId);
}

function registerLayerNorm(native: NativeAddon): void {
  registerNative(LAYER_NORM, ({ x, weight, bias }, attrs, backend) => {
    const dim = x.shape[x.shape.length - 1];
    const outputs = [
      backend.makeOutput(x.shape, 'float32'),
      backend.makeOutput(x.shape, 'float32'),
      backend.makeOutput([...x.shape.slice(0, -1), 1], 'float32'),
    ];
    const [out, normalized, invStd] = outputs;
    const rows = tf.util.sizeFromShape(x.shape) / Math.max(dim, 1);
    if (rows * dim === 0) return outputs;
    const at = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
    native.layerNorm(heapOf(backend), at(x), at(weight), at(bias), at(out), at(normalized), at(invStd), rows, dim, attrs.eps as number);
    return outputs;
  });
  registerNative(LAYER_NORM_GRAD, ({ dy, normalized, invStd, weight }, _attrs, backend) => {
    const dim = weight.shape[0];
    const outputs = [backend.makeOutput(dy.shape, 'float32'), backend.makeOutput([dim], 'float32'), backend.makeOutput([dim], 'float32')];
    const [dx, dWeight, dBias] = outputs;
    const rows = tf.util.sizeFromShape(dy.shape) / Math.max(dim, 1);
    if (dim === 0) return outputs;
    const heap = heapOf(backend); // after the last makeOutput, which may grow the heap
    // With no rows, the parameter gradients are sums of nothing: zeros.
    if (rows === 0) {
      for (const t of [dWeight, dBias]) new Float32Array(heap, backend.getMemoryOffset(t.dataId), dim).fill(0);
      return outputs;
    }
    const at = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
    native.layerNormGrad(heap, at(dy), at(normalized), at(invStd), at(weight), at(dx), at(dWeight), at(dBias), rows, dim);
    return outputs;
  });
}

function registerAffine(native: NativeAddon): void {
  registerNative(AFFINE, ({ x, weight, bias }, _attrs, backend) => {
    const [m, k] = x.shape;
    const n = weight.shape[1];
    const out = backend.makeOutput([m, n], 'float32');
    if (m * n === 0) return out;
    const at = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
    native.affine(heapOf(backend), at(x), at(weight), at(bias), at(out), m, n, k);
    return out;
  });
}

/**
 * wasm's Add runs on one thread; same-shape float32 adds of at least PARALLEL_ADD_MIN values (the
 * residual stream, gradient accumulation) run on all cores instead. Broadcasts, other dtypes and
 * small adds stay with wasm's kernel, as a native call costs more than it saves there.
 */
const PARALLEL_ADD_MIN = 65536;

function registerAdd(native: NativeAddon): void {
  overrideWasmKernel(tf.Add, ({ inputs: { a, b }, backend }: { inputs: { a: tf.TensorInfo; b: tf.TensorInfo }; backend: WasmBackend }) => {
    const size = tf.util.sizeFromShape(a.shape);
    const native32 = a.dtype === 'float32' && b.dtype === 'float32' && size >= PARALLEL_ADD_MIN && tf.util.arraysEqual(a.shape, b.shape);
    if (!native32) return null;
    const out = backend.makeOutput(a.shape, 'float32');
    const at = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
    native.add(heapOf(backend), at(a), at(b), at(out), size);
    return out;
  });
}

/**
 * wasm's Slice (and SplitV, a Slice per part) copies the whole input out of the heap in
 * JavaScript before taking its part: 38 ms to take the cls token of a [128, 65, 256] batch.
 * Here each part is copied in place, contiguous runs at a time.
 */
function registerSlices(native: NativeAddon): void {
  type SliceArgs = { inputs: { x: tf.TensorInfo }; attrs: Record<string, unknown>; backend: WasmBackend };
  const copy = (backend: WasmBackend, x: tf.TensorInfo, begin: number[], size: number[]): tf.TensorInfo => {
    const out = backend.makeOutput(size, x.dtype);
    if (tf.util.sizeFromShape(size) === 0) return out;
    const geometry = Float64Array.from([x.shape.length, ...x.shape, ...begin, ...size]);
    native.slice(heapOf(backend), at(backend, x), at(backend, out), 4, geometry);
    return out;
  };
  const sliceable = (x: tf.TensorInfo) => (x.dtype === 'float32' || x.dtype === 'int32') && x.shape.length >= 1 && x.shape.length <= 8;
  overrideWasmKernel(tf.Slice, ({ inputs: { x }, attrs, backend }: SliceArgs) => {
    if (!sliceable(x)) return null;
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.Tensor, attrs.begin as number[], attrs.size as number[]);
    return copy(backend, x, begin, size);
  });
  overrideWasmKernel(tf.SplitV, ({ inputs: { x }, attrs, backend }: SliceArgs) => {
    if (!sliceable(x)) return null;
    const axis = tf.util.parseAxisParam(attrs.axis as number, x.shape)[0];
    const sizes = tf.backend_util.prepareSplitSize(x as tf.Tensor, attrs.numOrSizeSplits as number[] | number, axis);
    const begin = x.shape.map(() => 0);
    return sizes.map((s) => {
      const part = copy(backend, x, [...begin], x.shape.map((d, i) => (i === axis ? s : d)));
      begin[axis] += s;
      return part;
    }) as unknown as tf.TensorInfo;
  });
  // A transpose that keeps the (merged) last axis last is runs of memcpy on all cores; wasm's own
  // walks every element on one thread, through a generic path above rank 4 (MobileViT's unfold
  // and fold, 'b (h ph) (w pw) d -> b (ph pw) (h w) d', were a fifth of its step). The others stay wasm's.
  overrideWasmKernel(tf.Transpose, ({ inputs: { x }, attrs, backend }: SliceArgs) => {
    if (!sliceable(x)) return null;
    const { shape, perm } = mergedPermutation(x.shape, attrs.perm as number[]);
    if (perm[perm.length - 1] !== perm.length - 1) return null;
    const out = backend.makeOutput((attrs.perm as number[]).map((axis) => x.shape[axis]), x.dtype);
    if (tf.util.sizeFromShape(x.shape) === 0) return out;
    native.permute(heapOf(backend), at(backend, x), at(backend, out), 4, Float64Array.from([shape.length, ...shape, ...perm]));
    return out;
  });
}

/**
 * The same permutation on fewer axes: axes of size 1 dropped, and axes that stay neighbours in
 * the same order merged into one, e.g. [b, h, n, d] by [0, 2, 1, 3] with h = 1 is the identity
 * on [b·n·d]. The result has at least one axis.
 */
export function mergedPermutation(shape: readonly number[], perm: readonly number[]): { shape: number[]; perm: number[] } {
  // The axes that are not 1, numbered anew in input order (so that 0 and 2 around a dropped 1 are neighbours).
  const sizes = shape.filter((size) => size !== 1);
  const renumbered = new Map(shape.flatMap((size, axis) => (size === 1 ? [] : [axis])).map((axis, i) => [axis, i]));
  // Runs of consecutive input axes in output order become one axis each.
  const groups: number[][] = [];
  for (const axis of perm.filter((a) => shape[a] !== 1).map((a) => renumbered.get(a)!)) {
    const last = groups[groups.length - 1];
    if (last && last[last.length - 1] === axis - 1) last.push(axis);
    else groups.push([axis]);
  }
  if (groups.length === 0) return { shape: [1], perm: [0] };
  const byInputOrder = [...groups].sort((a, b) => a[0] - b[0]);
  return {
    shape: byInputOrder.map((group) => group.reduce((size, axis) => size * sizes[axis], 1)),
    perm: groups.map((group) => byInputOrder.indexOf(group)),
  };
}

/**
 * One call updates every parameter (OPTIMIZER_STEP in fused-kernels.ts): a dozen wasm ops per
 * parameter before. Each parameter is one row of a table of numbers, its fields written by name in
 * the order the addon gives (optimizerTableLayout(), from native/src/kernels.h).
 */
function registerOptimizerStep(native: NativeAddon): void {
  const layout = native.optimizerTableLayout();
  const RULES: Record<OptimizerRule, number> = { adam: 0, muon: 1, sgd: 2 };
  registerNative(OPTIMIZER_STEP, (inputs, attrs, backend) => {
    const parameters = attrs.parameters as OptimizerParameter[];
    const params = parameters.map((_, i) => inputs[`p${i}`]);
    const norm = backend.makeOutput([], 'float32');
    const [pOut, mOut] = [params.map((p) => backend.makeOutput(p.shape, 'float32')), params.map((p) => backend.makeOutput(p.shape, 'float32'))];
    const vOut = parameters.map((p, i) => (p.rule === 'adam' ? backend.makeOutput(params[i].shape, 'float32') : null));
    const table = new Float64Array(layout.length * parameters.length);
    parameters.forEach((setting, i) => {
      const adam = setting.rule === 'adam';
      const row: Record<string, number> = {
        param: at(backend, params[i]),
        grad: at(backend, inputs[`g${i}`]),
        m: at(backend, inputs[`m${i}`]),
        v: adam ? at(backend, inputs[`v${i}`]) : 0,
        paramOut: at(backend, pOut[i]),
        mOut: at(backend, mOut[i]),
        vOut: adam ? at(backend, vOut[i]!) : 0,
        size: tf.util.sizeFromShape(params[i].shape),
        keep: setting.keep,
        l2: setting.l2,
        rule: RULES[setting.rule],
        rows: setting.rows,
        stepScale: setting.stepScale,
      };
      table.set(layout.map((field) => row[field]), layout.length * i);
    });
    const settings = ['beta1', 'beta2', 'stepSize', 'invSqrtBias2', 'eps', 'maxNorm', 'momentum', 'nesterov', 'nsSteps'].map((key) => attrs[key] as number | boolean);
    native.optimizerStep(heapOf(backend), table, ...settings, at(backend, norm));
    return [norm, ...pOut, ...mOut, ...vOut.filter((t): t is tf.TensorInfo => t !== null)];
  });
}

function registerAttention(native: NativeAddon): void {
  registerNative(ATTENTION, ({ qkv }, attrs, backend) => {
    const [batch, n, heads, d] = attentionShape(qkv, attrs);
    const outputs = [backend.makeOutput([batch, n, heads * d], 'float32'), backend.makeOutput([batch, heads, n, n], 'float32')];
    if (batch * n * heads * d === 0) return outputs;
    const at = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
    native.attention(heapOf(backend), at(qkv), at(outputs[0]), at(outputs[1]), batch, heads, n, d, attrs.scale as number, attrs.maskDiagonal === true);
    return outputs;
  });
  registerNative(ATTENTION_GRAD, ({ dy, qkv, probs }, attrs, backend) => {
    const [batch, n, heads, d] = attentionShape(qkv, attrs);
    const dQkv = backend.makeOutput(qkv.shape, 'float32');
    if (batch * n * heads * d === 0) return dQkv;
    const at = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
    native.attentionGrad(heapOf(backend), at(dy), at(qkv), at(probs), at(dQkv), batch, heads, n, d, attrs.scale as number);
    return dQkv;
  });
  registerNative(WINDOW_ATTENTION, ({ qkv, bias }, attrs, backend) => {
    const shape = windowAttentionShape(qkv, attrs);
    const [batch, heads, side, window, , d] = shape;
    const outputs = [backend.makeOutput([batch, side, side, heads * d], 'float32'), backend.makeOutput([batch, heads, (side / window) ** 2, window ** 2, window ** 2], 'float32')];
    if (tf.util.sizeFromShape(outputs[1].shape) * d === 0) return outputs;
    const at = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
    native.windowAttention(heapOf(backend), at(qkv), at(bias), at(outputs[0]), at(outputs[1]), ...shape, bias.shape[0], attrs.scale as number);
    return outputs;
  });
  registerNative(WINDOW_ATTENTION_GRAD, ({ dy, qkv, probs }, attrs, backend) => {
    const shape = windowAttentionShape(qkv, attrs);
    const outputs = [backend.makeOutput(qkv.shape, 'float32'), backend.makeOutput(probs.shape, 'float32')];
    if (tf.util.sizeFromShape(probs.shape) * shape[5] === 0) return outputs;
    const at = (t: tf.TensorInfo) => backend.getMemoryOffset(t.dataId);
    native.windowAttentionGrad(heapOf(backend), at(dy), at(qkv), at(probs), at(outputs[0]), at(outputs[1]), ...shape, attrs.scale as number);
    return outputs;
  });
}

/** [batch, heads, side, window, shift, dim_head] of a window attention kernel's qkv [batch, side, side, 3·heads·dim_head]. */
function windowAttentionShape(qkv: tf.TensorInfo, attrs: Record<string, unknown>): number[] {
  const [batch, side, , width] = qkv.shape;
  const heads = attrs.heads as number;
  return [batch, heads, side, attrs.window as number, attrs.shift as number, width / (3 * heads)];
}

/**
 * The window geometry the addon's im2col and maxPoolGrad take: batch, height, width, channels,
 * kernel rows and columns, strides, top and left padding, output rows and columns.
 */
function windowGeometry(info: tf.backend_util.Conv2DInfo): number[] {
  const { batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth, strideHeight, strideWidth, padInfo, outHeight, outWidth } = info;
  return [batchSize, inHeight, inWidth, inChannels, filterHeight, filterWidth, strideHeight, strideWidth, padInfo.top, padInfo.left, outHeight, outWidth];
}

/** Convolution windows as a conv2d with a [kernel, kernel, c, 1] filter and symmetric zero padding sees them. */
function im2colGeometry(shape: number[], attrs: Record<string, unknown>): tf.backend_util.Conv2DInfo {
  const [kernel, stride, padding] = [attrs.kernel, attrs.stride, attrs.padding] as number[];
  const [b, h, w, c] = shape;
  return tf.backend_util.computeConv2DInfo([b, h, w, c], [kernel, kernel, c, 1], stride, 1, padding, 'floor');
}

function registerWindows(native: NativeAddon): void {
  registerNative(IM2COL, ({ x }, attrs, backend) => {
    const info = im2colGeometry(x.shape, attrs);
    const out = backend.makeOutput([info.batchSize, info.outHeight, info.outWidth, info.filterHeight * info.filterWidth * info.inChannels], 'float32');
    if (tf.util.sizeFromShape(out.shape) === 0) return out;
    native.im2col(heapOf(backend), backend.getMemoryOffset(x.dataId), backend.getMemoryOffset(out.dataId), ...windowGeometry(info));
    return out;
  });
  registerNative(IM2COL_GRAD, ({ dy }, attrs, backend) => {
    const shape = [dy.shape[0], attrs.height as number, attrs.width as number, attrs.channels as number];
    const info = im2colGeometry(shape, attrs);
    const dx = backend.makeOutput(shape, 'float32');
    if (tf.util.sizeFromShape(shape) === 0) return dx;
    if (tf.util.sizeFromShape(dy.shape) === 0) new Float32Array(heapOf(backend), backend.getMemoryOffset(dx.dataId), tf.util.sizeFromShape(shape)).fill(0);
    else native.im2colGrad(heapOf(backend), backend.getMemoryOffset(dy.dataId), backend.getMemoryOffset(dx.dataId), ...windowGeometry(info));
    return dx;
  });
  // wasm's own MaxPool and MaxPoolGrad run on one thread (MaxPoolGrad was ~11% of a CCT step);
  // these split images over cores.
  type PoolArgs<Inputs> = { inputs: Inputs; attrs: Record<string, unknown>; backend: WasmBackend };
  const poolInfo = (shape: number[], attrs: Record<string, unknown>) => {
    const { filterSize, strides, pad, dimRoundingMode } = attrs as { filterSize: number; strides: number; pad: number; dimRoundingMode?: 'floor' };
    return tf.backend_util.computePool2DInfo(shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  };
  overrideWasmKernel(tf.MaxPool, ({ inputs: { x }, attrs, backend }: PoolArgs<{ x: tf.TensorInfo }>) => {
    if (x.dtype !== 'float32') return null;
    const info = poolInfo(x.shape, attrs);
    const y = backend.makeOutput(info.outShape, 'float32');
    if (tf.util.sizeFromShape(y.shape) === 0) return y;
    native.maxPool(heapOf(backend), at(backend, x), at(backend, y), ...windowGeometry(info));
    return y;
  });
  type GradInputs = { dy: tf.TensorInfo; input: tf.TensorInfo; output: tf.TensorInfo };
  overrideWasmKernel(tf.MaxPoolGrad, ({ inputs, attrs, backend }: PoolArgs<GradInputs>) => {
    if (inputs.input.dtype !== 'float32') return null;
    const info = poolInfo(inputs.input.shape, attrs);
    const dx = backend.makeOutput(inputs.input.shape, 'float32');
    if (tf.util.sizeFromShape(dx.shape) === 0) return dx;
    native.maxPoolGrad(heapOf(backend), at(backend, inputs.dy), at(backend, inputs.input), at(backend, inputs.output), at(backend, dx), ...windowGeometry(info));
    return dx;
  });
}

/** DEPTHWISE_CONV and DEPTHWISE_CONV_GRAD (src/layers/conv.ts): batch, height, width, channels, kernel, the four paddings, the stride. */
function registerDepthwise(native: NativeAddon): void {
  const shapeOf = (x: tf.TensorInfo, attrs: Record<string, unknown>) => {
    const [batch, height, width, channels] = x.shape;
    return [batch, height, width, channels, ...(['kernel', 'padTop', 'padBottom', 'padLeft', 'padRight', 'stride'].map((key) => attrs[key]) as number[])];
  };
  const outShape = (shape: number[]) => {
    const [batch, height, width, channels, kernel, top, bottom, left, right, stride] = shape;
    return [batch, Math.floor((height + top + bottom - kernel) / stride) + 1, Math.floor((width + left + right - kernel) / stride) + 1, channels];
  };
  registerNative(DEPTHWISE_CONV, ({ x, weight, bias }, attrs, backend) => {
    const shape = shapeOf(x, attrs);
    const y = backend.makeOutput(outShape(shape), 'float32');
    if (tf.util.sizeFromShape(y.shape) === 0) return y;
    native.depthwiseConv(heapOf(backend), at(backend, x), at(backend, weight), at(backend, bias), at(backend, y), ...shape);
    return y;
  });
  registerNative(DEPTHWISE_CONV_GRAD, ({ dy, x, weight }, attrs, backend) => {
    const shape = shapeOf(x, attrs);
    const outputs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput(weight.shape, 'float32'), backend.makeOutput([x.shape[3]], 'float32')];
    const [dx, dWeight, dBias] = outputs;
    if (tf.util.sizeFromShape(x.shape) === 0) {
      // No images: the filter's and bias's gradients are sums of nothing.
      for (const t of [dWeight, dBias]) new Float32Array(heapOf(backend), at(backend, t), tf.util.sizeFromShape(t.shape)).fill(0);
      return outputs;
    }
    native.depthwiseConvGrad(heapOf(backend), at(backend, dy), at(backend, x), at(backend, weight), at(backend, dx), at(backend, dWeight), at(backend, dBias), ...shape);
    return outputs;
  });
}

/** BATCH_NORM, BATCH_NORM_GRAD and BATCH_NORM_APPLY (src/layers/batch-norm.ts) on rows [n, c]; the activation as native/src/kernels.h numbers it. */
function registerBatchNorm(native: NativeAddon): void {
  const ACTIVATIONS: Record<BatchNormActivation, number> = { none: 0, gelu_before: 1, relu_after: 2, silu_after: 3 };
  const activation = (attrs: Record<string, unknown>) => ACTIVATIONS[attrs.activation as BatchNormActivation];
  registerNative(BATCH_NORM, ({ x, weight, bias }, attrs, backend) => {
    const [n, c] = x.shape;
    const outputs = [backend.makeOutput(x.shape, 'float32'), ...[0, 1, 2].map(() => backend.makeOutput([c], 'float32'))];
    if (n * c === 0) return outputs;
    const [y, mean, variance, invStd] = outputs;
    native.batchNorm(heapOf(backend), at(backend, x), at(backend, weight), at(backend, bias), at(backend, y), at(backend, mean), at(backend, variance), at(backend, invStd), n, c, attrs.eps as number, activation(attrs));
    return outputs;
  });
  registerNative(BATCH_NORM_APPLY, ({ x, scale, shift }, attrs, backend) => {
    const [n, c] = x.shape;
    const y = backend.makeOutput(x.shape, 'float32');
    if (n * c > 0) native.batchNormApply(heapOf(backend), at(backend, x), at(backend, scale), at(backend, shift), at(backend, y), n, c, activation(attrs));
    return y;
  });
  registerNative(BATCH_NORM_GRAD, ({ dy, x, mean, invStd, weight, bias }, attrs, backend) => {
    const [n, c] = x.shape;
    const outputs = [backend.makeOutput(x.shape, 'float32'), backend.makeOutput([c], 'float32'), backend.makeOutput([c], 'float32')];
    if (n * c === 0) return outputs;
    const [dx, dWeight, dBias] = outputs;
    native.batchNormGrad(heapOf(backend), at(backend, dy), at(backend, x), at(backend, mean), at(backend, invStd), at(backend, weight), at(backend, bias), at(backend, dx), at(backend, dWeight), at(backend, dBias), n, c, activation(attrs));
    return outputs;
  });
}

/** A float32 kernel whose output has the shape of its input `x`. */
function registerElementwise(
  kernelName: string,
  compute: (inputs: Record<string, tf.TensorInfo>, backend: WasmBackend, out: tf.TensorInfo) => void,
): void {
  const kernelFunc = ({ inputs, backend }: { inputs: Record<string, tf.TensorInfo>; backend: WasmBackend }) => {
    const out = backend.makeOutput(inputs.x.shape, 'float32');
    compute(inputs, backend, out);
    return out;
  };
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

/** [batch, tokens, heads, dim_head] of an attention kernel's qkv input [batch, tokens, 3·heads·dim_head]. */
function attentionShape(qkv: tf.TensorInfo, attrs: Record<string, unknown>): number[] {
  const [batch, n, width] = qkv.shape;
  const heads = attrs.heads as number;
  return [batch, n, heads, width / (3 * heads)];
}

/**
 * Replaces one of wasm's own kernels by `native`, which returns null for the cases it leaves to
 * the original kernel (other dtypes, shapes it does not handle, sizes where a native call does
 * not pay).
 */
function overrideWasmKernel<Args>(kernelName: string, native: (args: Args) => tf.TensorInfo | null): void {
  const original = tf.getKernel(kernelName, 'wasm');
  tf.unregisterKernel(kernelName, 'wasm');
  const kernelFunc = (args: Args) => native(args) ?? original.kernelFunc(args as never);
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

/** A float32 kernel with one output or several, made with backend.makeOutput. */
function registerNative(
  kernelName: string,
  compute: (inputs: Record<string, tf.TensorInfo>, attrs: Record<string, unknown>, backend: WasmBackend) => tf.TensorInfo | tf.TensorInfo[],
): void {
  const kernelFunc = ({ inputs, attrs, backend }: { inputs: Record<string, tf.TensorInfo>; attrs: Record<string, unknown>; backend: WasmBackend }) =>
    compute(inputs, attrs, backend);
  tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}

/** The wasm heap, read anew each time: allocating an output may have grown (and so replaced) it. */
function heapOf(backend: WasmBackend): ArrayBuffer {
  return backend.wasm.HEAPU8.buffer as ArrayBuffer;
}

/**
 * out = op(a) · op(b) over the batch dimensions, or null for what it leaves to tfjs: non-float32
 * inputs, empty tensors, and batch broadcasting other than one matrix against many.
 */
function nativeBatchMatMul(addon: NativeAddon, { inputs: { a, b }, backend, attrs }: MatMulArgs): tf.TensorInfo | null {
  const { transposeA, transposeB } = attrs;
  const [aRows, aCols] = a.shape.slice(-2);
  const [bRows, bCols] = b.shape.slice(-2);
  const [m, k] = transposeA ? [aCols, aRows] : [aRows, aCols];
  const [kB, n] = transposeB ? [bCols, bRows] : [bRows, bCols];
  if (k !== kB) throw new Error(`matMul: inner dimensions ${k} and ${kB} of [${a.shape}] and [${b.shape}] differ`);
  const batchA = tf.util.sizeFromShape(a.shape.slice(0, -2));
  const batchB = tf.util.sizeFromShape(b.shape.slice(0, -2));
  const oneAgainstMany = batchA === batchB || batchA === 1 || batchB === 1;
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || m * n * k === 0 || !oneAgainstMany) return null;

  const batchShape = tf.broadcast_util.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  const out = backend.makeOutput([...batchShape, m, n], 'float32');
  addon.matMul(
    heapOf(backend),
    backend.getMemoryOffset(a.dataId),
    backend.getMemoryOffset(b.dataId),
    backend.getMemoryOffset(out.dataId),
    Math.max(batchA, batchB),
    m,
    n,
    k,
    transposeA,
    transposeB,
    batchA === 1 ? 0 : m * k,
    batchB === 1 ? 0 : k * n,
  );
  return out;
}
