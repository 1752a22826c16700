import * as tf from '@tensorflow/tfjs';
import { EinopsError } from './errors.js';
import type { AxisLengths } from './lengths.js';
import { memoize } from './memoize.js';
import { isReduction, type Operation, type Reduction } from './operation.js';
import { parsePattern } from './parse.js';
import { planTransform, type Step } from './plan.js';

// A model applies a handful of patterns to a handful of shapes, over and over: parse and plan once.
const parsed = memoize(256, (pattern: string) => pattern, parsePattern);
const planned = memoize(
  1024,
  (pattern: string, operation: Operation, shape: readonly number[], given: AxisLengths) =>
    `${operation}|${pattern}|${shape.join(',')}|${JSON.stringify(given)}`,
  (pattern, operation, shape, given) => planTransform(parsed(pattern), operation, shape, given),
);

const REDUCE: Record<Reduction, (x: tf.Tensor, axes: number[]) => tf.Tensor> = {
  sum: tf.sum,
  mean: tf.mean,
  max: tf.max,
  min: tf.min,
  prod: tf.prod,
};

/**
 * Applies `pattern` to `x` for `operation`. When the pattern changes nothing, `x` itself comes back
 * (no op runs, as in einops); otherwise a new tensor, with every intermediate disposed.
 */
export function transform(x: tf.Tensor, pattern: string, operation: Operation, given: AxisLengths): tf.Tensor {
  const steps = planFor(x, pattern, operation, given);
  if (steps.length === 0) return x;
  return tf.tidy(() => steps.reduce(applyStep, x));
}

/** The (cached) plan, with any EinopsError prefixed by the call it came from, pattern first. */
function planFor(x: tf.Tensor, pattern: string, operation: Operation, given: AxisLengths): Step[] {
  try {
    return planned(pattern, operation, x.shape, given);
  } catch (error) {
    if (!(error instanceof EinopsError)) throw error;
    const call = isReduction(operation) ? `reduce (${operation})` : operation;
    const axes = Object.keys(given).length > 0 ? ` with ${JSON.stringify(given)}` : '';
    throw new EinopsError(`${call} '${pattern}' on shape [${x.shape}]${axes}: ${error.message}`);
  }
}

function applyStep(x: tf.Tensor, step: Step): tf.Tensor {
  switch (step.kind) {
    case 'reshape':
      return tf.reshape(x, step.shape);
    case 'reduce':
      return REDUCE[step.reduction](x, step.axes);
    case 'transpose':
      return tf.transpose(x, step.perm);
    case 'broadcast':
      return broadcast(x, step.shape);
  }
}

/**
 * tf.broadcastTo (x has the rank of `shape`, 1 on the repeated axes) with its gradient as one Sum
 * over the repeated axes: tfjs differentiates it as a Tile, a Slice and an Add per repetition
 * (256 kernels to repeat a cls token over a batch of 128).
 */
function broadcast(x: tf.Tensor, shape: number[]): tf.Tensor {
  const repeated = shape.flatMap((length, axis) => (x.shape[axis] === 1 && length !== 1 ? [axis] : []));
  const value = tf.customGrad((input) => ({
    value: tf.broadcastTo(input as tf.Tensor, shape),
    gradFunc: (dy) => tf.sum(dy, repeated, true),
  }));
  return value(x);
}
