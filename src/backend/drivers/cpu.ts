import * as tf from '@tensorflow/tfjs';
import { NO_MEMORY_LIMIT, type BackendDriver } from './driver.js';
import { availableProbe } from '../choose/probe.js';

/** tfjs's pure-JavaScript backend: always there, and the slowest by far. */
export const cpuDriver: BackendDriver = {
  capabilities: NO_MEMORY_LIMIT,
  probe: async () => availableProbe('cpu', { version: tf.version['tfjs-core'], note: 'pure JavaScript, slowest' }),
  activate: async () => ({ tfjsName: 'cpu', dispose() {} }),
};
