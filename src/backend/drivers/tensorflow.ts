import { NO_MEMORY_LIMIT, type BackendDriver } from './driver.js';
import { availableProbe, unavailableProbe } from '../choose/probe.js';
import { loadTfjsNode } from './tfjs-node.js';

const INSTALL =
  'Install it: `npm install @tensorflow/tfjs-node`; its install script must be allowed to run and to ' +
  'download libtensorflow from storage.googleapis.com (see docs/backends.md).';

/** libtensorflow on the CPU, through @tensorflow/tfjs-node. */
export const tensorflowDriver: BackendDriver = {
  capabilities: NO_MEMORY_LIMIT,

  async probe() {
    const loaded = await loadTfjsNode('@tensorflow/tfjs-node');
    switch (loaded.status) {
      case 'missing':
        return unavailableProbe('tensorflow', '@tensorflow/tfjs-node is not installed', INSTALL);
      case 'failed':
        return unavailableProbe('tensorflow', `@tensorflow/tfjs-node failed to load: ${loaded.message}`, INSTALL);
      case 'loaded':
        return availableProbe('tensorflow', loaded.details);
    }
  },

  async activate() {
    // The probe ran in a child process: load libtensorflow here, which registers "tensorflow".
    const loaded = await loadTfjsNode('@tensorflow/tfjs-node');
    if (loaded.status !== 'loaded') throw new Error(`@tensorflow/tfjs-node did not load here after its probe passed`);
    return { tfjsName: 'tensorflow', dispose() {} };
  },
};
