import { NO_MEMORY_LIMIT, type BackendDriver } from './driver.js';
import { availableProbe, unavailableProbe } from '../choose/probe.js';
import { loadTfjsNode } from './tfjs-node.js';

const INSTALL =
  'Install it on Linux x64 with an NVIDIA GPU, CUDA 11.2 and cuDNN 8.1: `npm install @tensorflow/tfjs-node-gpu`; ' +
  'its install script must be allowed to run and to download libtensorflow from storage.googleapis.com ' +
  '(see docs/backends.md).';

/** libtensorflow on an NVIDIA GPU, through @tensorflow/tfjs-node-gpu. */
export const cudaDriver: BackendDriver = {
  capabilities: NO_MEMORY_LIMIT,

  async probe() {
    const loaded = await loadTfjsNode('@tensorflow/tfjs-node-gpu');
    switch (loaded.status) {
      case 'missing':
        return unavailableProbe('cuda', '@tensorflow/tfjs-node-gpu is not installed', INSTALL);
      case 'failed':
        return unavailableProbe('cuda', `@tensorflow/tfjs-node-gpu failed to load: ${loaded.message}`, INSTALL);
      case 'loaded':
        // libtensorflow silently falls back to the CPU when it cannot load CUDA or sees no GPU.
        return loaded.usingGpu
          ? availableProbe('cuda', loaded.details)
          : unavailableProbe(
              'cuda',
              'libtensorflow loaded but found no usable CUDA GPU',
              'Check `nvidia-smi`, and that the CUDA 11.2 and cuDNN 8.1 libraries are on LD_LIBRARY_PATH.',
              loaded.details,
            );
    }
  },

  async activate() {
    // The probe ran in a child process: load libtensorflow here, which registers "tensorflow".
    const loaded = await loadTfjsNode('@tensorflow/tfjs-node-gpu');
    if (loaded.status !== 'loaded') throw new Error(`@tensorflow/tfjs-node-gpu did not load here after its probe passed`);
    return { tfjsName: 'tensorflow', dispose() {} };
  },
};
