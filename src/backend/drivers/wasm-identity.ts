import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-wasm's BackendWasm this kernel uses. */
interface WasmBackend {
  incRef(dataId: object): void;
}

let installed = false;

/**
 * tfjs clones every tensor it saves for the backward pass (engine.clone → the Identity kernel),
 * and wasm's Identity copies the data: a quarter of a ViT step's kernels, and twice the memory
 * for saved activations. tfjs tensors are immutable (a Variable's assign swaps in a new buffer),
 * so, as the cpu and webgl backends do, Identity can share the buffer and count a reference.
 */
export function shareIdentityOnWasm(): void {
  if (installed) return;
  const original = tf.getKernel(tf.Identity, 'wasm');
  tf.unregisterKernel(tf.Identity, 'wasm');
  const kernelFunc = (args: { inputs: { x: tf.TensorInfo }; backend: WasmBackend }) => {
    const { x } = args.inputs;
    if (x.dtype === 'string') return original.kernelFunc(args as never);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  };
  tf.registerKernel({ ...original, kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  installed = true;
}
