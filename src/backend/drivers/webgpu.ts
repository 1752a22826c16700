import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs';
import { NO_MEMORY_LIMIT, type BackendDriver } from './driver.js';
import { importOptional } from './optional-import.js';
import { availableProbe, explicitOnlyProbe, unavailableProbe } from '../choose/probe.js';
import { registerChunkedAddN } from './webgpu-addn.js';

const VULKAN =
  'WebGPU runs on Vulkan here: install a Vulkan loader (libvulkan1) and your GPU vendor\'s Vulkan driver ' +
  '(for tests without a GPU, Mesa >= 25 lavapipe: `npm run setup -- --tests` installs it on Debian and Fedora; see docs/backends.md).';
const PACKAGES = 'Install the optional dependencies: `npm install webgpu @tensorflow/tfjs-backend-webgpu`.';

/** CPU rasterisers that pose as GPUs; they work, but train slower than wasm. */
const SOFTWARE_ADAPTER_NAMES = /llvmpipe|lavapipe|swiftshader/i;

/** The same request tfjs-backend-webgpu makes, so the probe sees the adapter tfjs will use. */
const ADAPTER_REQUEST: GPURequestAdapterOptions = { powerPreference: 'high-performance' };

/** Creates a Dawn instance (npm `webgpu`), or says why there is none. */
async function createDawnGpu(): Promise<GPU | string> {
  const loaded = await importOptional('webgpu');
  if (loaded.status === 'missing') return 'the `webgpu` package (Dawn) is not installed';
  if (loaded.status === 'failed') return `the \`webgpu\` package (Dawn) failed to load: ${loaded.message}`;
  const { create, globals } = loaded.module as typeof import('webgpu');
  // tfjs-backend-webgpu uses WebGPU's global constants (GPUBufferUsage, …) as in a browser.
  Object.assign(globalThis, globals);
  return create([]);
}

function describeAdapter(adapter: GPUAdapter): { details: Record<string, string>; software: boolean } {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const name = info.description || info.device || 'unnamed adapter';
  const software = Boolean(info.isFallbackAdapter) || SOFTWARE_ADAPTER_NAMES.test(`${info.description} ${info.device}`);
  return { details: { adapter: name, vendor: info.vendor, software: software ? 'yes' : 'no' }, software };
}

/**
 * navigator.gpu is where tfjs-backend-webgpu looks for WebGPU; Node 20 has no `navigator`.
 * Returns how to take it away again: Node may not exit while Dawn is reachable from a global.
 */
function exposeAsNavigatorGpu(gpu: GPU): () => void {
  const global = globalThis as { navigator?: object };
  if (global.navigator) {
    Object.defineProperty(global.navigator, 'gpu', { value: gpu, configurable: true });
    return () => delete (global.navigator as { gpu?: GPU }).gpu;
  }
  Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true, writable: true });
  return () => delete global.navigator;
}

/** tfjs-backend-webgpu's backend factory, kept because importing the package registers it only once. */
let webgpuFactory: ReturnType<typeof tf.findBackendFactory> | null = null;

/** Registers "webgpu" into the shared tfjs engine; navigator.gpu must exist by now. */
async function registerWebGpuBackend(): Promise<void> {
  if (!webgpuFactory) {
    await import('@tensorflow/tfjs-backend-webgpu');
    webgpuFactory = tf.findBackendFactory('webgpu');
    if (!webgpuFactory) throw new Error('@tensorflow/tfjs-backend-webgpu did not register "webgpu"');
    registerChunkedAddN();
  } else if (!tf.findBackendFactory('webgpu')) {
    // An earlier dispose() removed it: the factory asks navigator.gpu for a new device.
    tf.registerBackend('webgpu', webgpuFactory, 3); // 3: the priority tfjs-backend-webgpu gives it
  }
}

/** WebGPU through Dawn's Node bindings (npm `webgpu`) and @tensorflow/tfjs-backend-webgpu. */
export const webgpuDriver: BackendDriver = {
  capabilities: NO_MEMORY_LIMIT,

  async probe() {
    try {
      // Resolve only: importing the backend before navigator.gpu exists would make it skip registering.
      createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-webgpu');
    } catch {
      return unavailableProbe('webgpu', '@tensorflow/tfjs-backend-webgpu is not installed', PACKAGES);
    }
    const gpu = await createDawnGpu();
    if (typeof gpu === 'string') return unavailableProbe('webgpu', gpu, PACKAGES);
    const adapter = await gpu.requestAdapter(ADAPTER_REQUEST);
    if (!adapter) return unavailableProbe('webgpu', 'Dawn found no WebGPU adapter (no usable Vulkan driver)', VULKAN);
    const { details, software } = describeAdapter(adapter);
    // An adapter can exist and still refuse a device (e.g. a Vulkan driver missing features Dawn needs).
    try {
      (await adapter.requestDevice()).destroy();
    } catch (err) {
      return unavailableProbe('webgpu', `${details.adapter} refused a device: ${(err as Error).message}`, VULKAN, details);
    }
    if (software) {
      return explicitOnlyProbe('webgpu', 'a software adapter, slower than wasm: used only when asked for by name', details);
    }
    return availableProbe('webgpu', details);
  },

  async activate() {
    const gpu = await createDawnGpu();
    if (typeof gpu === 'string') throw new Error(gpu);
    const hide = exposeAsNavigatorGpu(gpu);
    await registerWebGpuBackend();
    return {
      tfjsName: 'webgpu',
      dispose() {
        // The registry, not tf.findBackend, which would start initialising a backend that failed to.
        const backend = tf.engine().registry.webgpu as unknown as { device: GPUDevice } | undefined;
        if (tf.findBackendFactory('webgpu')) tf.removeBackend('webgpu');
        backend?.device.destroy();
        hide();
      },
    };
  },
};
