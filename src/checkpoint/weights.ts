import * as tf from '@tensorflow/tfjs';
import { type NamedArrays, checkShapes } from './checkpoint.js';

/** Copies tensors out to plain arrays (what checkpoints store). */
export async function snapshot(tensors: Record<string, tf.Tensor>): Promise<NamedArrays> {
  const out: NamedArrays = {};
  for (const [name, t] of Object.entries(tensors)) out[name] = { shape: t.shape, data: (await t.data()) as Float32Array };
  return out;
}

/** Loads saved arrays into existing variables, after checking names and shapes match exactly. */
export function restoreVariables(variables: Record<string, tf.Variable>, arrays: NamedArrays, source: string): void {
  checkShapes(arrays, Object.fromEntries(Object.entries(variables).map(([n, v]) => [n, v.shape])), source);
  for (const [name, v] of Object.entries(variables)) tf.tidy(() => v.assign(tf.tensor(arrays[name].data, arrays[name].shape)));
}
