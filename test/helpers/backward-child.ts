/**
 * One gradient computation in a fresh process (argv[2]: a JSON model config; argv[3]: 'early' or
 * 'tfjs'): prints the gradients and the wasm heap's size afterwards (it only grows, so it is the
 * step's peak), as JSON.
 */
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../../src/backend/index.js';
import { ConfigSchema } from '../../src/config/schema.js';
import { initParams, modelForward } from '../../src/model/index.js';
import { freeBackwardMemoryEarly } from '../../src/train/backward-memory.js';
import { crossEntropy } from '../../src/train/loss.js';

await useBackend('wasm');
if (process.argv[3] === 'early') freeBackwardMemoryEarly();
const cfg = ConfigSchema.parse({ model: JSON.parse(process.argv[2]) }).model;
const params = initParams(cfg, 3);
const x = tf.randomNormal([64, 32, 32, 3], 0, 1, 'float32', 4) as tf.Tensor4D;
const y = tf.tensor1d(Array.from({ length: 64 }, (_, i) => i % 10), 'int32');
const before = tf.memory().numTensors;
const { value, grads } = tf.variableGrads(() => crossEntropy(modelForward(params, cfg, x, { training: true, seed: 5 }), y, 0.1), Object.values(params));
const values = Object.values(params).map((p) => Array.from(grads[p.name].dataSync()));
tf.dispose([value, ...Object.values(grads)]);
const heap = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
console.log(JSON.stringify({ grads: values, heap, leaked: tf.memory().numTensors - before }));
