import * as tf from '@tensorflow/tfjs';
import { Rng } from '../util/rng.js';

/**
 * A model's state by name: its parameters and, for families with BatchNorm, its buffers (running
 * statistics, not trained), like a PyTorch state_dict. Each family lists the names and shapes.
 */
export type Params = Record<string, tf.Variable>;

/**
 * One variable per entry of `shapes`, in order, each from `initialValue`, which draws any seeds it
 * needs from one Rng seeded with `seed`: init never touches tfjs's global random state, and the
 * same seed gives the same weights on every backend.
 */
export function initVariables(
  shapes: Record<string, number[]>,
  initialValue: (name: string, shape: number[], rng: Rng) => tf.Tensor,
  seed: number,
): Params {
  const rng = new Rng(seed);
  const params: Params = {};
  for (const [name, shape] of Object.entries(shapes)) {
    params[name] = tf.tidy(() => tf.variable(initialValue(name, shape, rng)));
  }
  return params;
}

/**
 * A seed for a tfjs random op (truncatedNormal, dropout), drawn from our Rng.
 * tfjs treats a seed of 0 as "no seed" and falls back to Math.random, so 0 is never returned.
 */
export function tfSeed(rng: Rng): number {
  return rng.seed() || 1;
}

/** The variable `name` of `params`; a family's forward pass names the function that asks (`who`). */
export function paramOf(params: Params, name: string, who: string): tf.Variable {
  const value = params[name];
  if (!value) throw new Error(`${who}: missing parameter ${name}`);
  return value;
}

/**
 * PyTorch's default initialisation of a Conv2d's or Linear's weight and bias (reset_parameters:
 * kaiming_uniform_ with a = √5, which is U(−b, b) with b = 1/√fan_in, and the bias from the same
 * range), for a weight of `fanIn` inputs per output (k·k·c_in for a conv).
 */
export function pytorchDefaultInit(shape: number[], fanIn: number, rng: Rng): tf.Tensor {
  const bound = 1 / Math.sqrt(fanIn);
  return tf.randomUniform(shape, -bound, bound, 'float32', tfSeed(rng));
}

/** The inputs per output of one of our weights: k·k·c_in of a conv [k, k, c_in, c_out], `in` of a Linear [in, out]. */
export function fanIn(weightShape: number[]): number {
  return weightShape.slice(0, -1).reduce((a, b) => a * b, 1);
}
