import * as tf from '@tensorflow/tfjs';

/** The parts of tfjs-backend-webgpu's backend and AddN kernel that this file needs. */
interface WebGpuBackendLike {
  device: GPUDevice;
  disposeData(dataId: object): void;
}
type AddN = (args: { inputs: tf.TensorInfo[]; backend: unknown; attrs?: unknown }) => tf.TensorInfo;

/**
 * tfjs-backend-webgpu 4.22 runs `tf.addN` as one shader that binds every input as a storage buffer.
 * With more inputs than the device allows per shader (8 buffers by default, one of them the output)
 * the pipeline is invalid: Dawn prints a validation error, and the result is garbage, with no
 * exception. A global gradient norm over a model's parameters does exactly that. This replaces the
 * kernel with one that sums in chunks that fit. Call it once, after the webgpu backend registered.
 */
export function registerChunkedAddN(): void {
  const original = tf.getKernel('AddN', 'webgpu');
  if (!original) throw new Error('tfjs-backend-webgpu registered no AddN kernel');
  const addN = original.kernelFunc as unknown as AddN;
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const gpu = backend as unknown as WebGpuBackendLike;
      const perShader = gpu.device.limits.maxStorageBuffersPerShaderStage - 1;
      const sum = (terms: tf.TensorInfo[]): tf.TensorInfo => {
        if (terms.length <= perShader) return addN({ inputs: terms, backend, attrs });
        const partials: tf.TensorInfo[] = [];
        for (let i = 0; i < terms.length; i += perShader) {
          partials.push(addN({ inputs: terms.slice(i, i + perShader), backend, attrs }));
        }
        const total = sum(partials);
        for (const partial of partials) gpu.disposeData(partial.dataId);
        return total;
      };
      return sum(inputs as unknown as tf.TensorInfo[]);
    },
  });
}
