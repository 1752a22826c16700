import { compactTranspose } from './compact-transpose.js';
import { EinopsError } from './errors.js';
import { inferLengths, type AxisLengths } from './lengths.js';
import { checkOperation, type Operation, type Reduction } from './operation.js';
import { ELLIPSIS, type Pattern, type Side } from './parse.js';
import { product, sameShape } from './shape.js';

/** One tfjs op. A plan is the few of them that apply a pattern to an input of a given shape. */
export type Step =
  | { kind: 'reshape'; shape: number[] }
  | { kind: 'reduce'; reduction: Reduction; axes: number[] }
  | { kind: 'transpose'; perm: number[] }
  | { kind: 'broadcast'; shape: number[] };

/**
 * Plans `operation` on an input of `shape`, as einops does: view the input as its elementary axes,
 * reduce the axes missing on the right, transpose the rest into the right side's order, broadcast
 * to the axes new on the right, and compose the right side's dimensions. Reshapes are only emitted
 * where the next op needs a different shape, and ops that would change nothing are left out.
 */
export function planTransform(
  pattern: Pattern,
  operation: Operation,
  shape: readonly number[],
  given: AxisLengths,
): Step[] {
  checkOperation(pattern, operation);
  const ellipsisAxes = axesUnderEllipsis(pattern.left, shape.length);
  const left = expandEllipsis(pattern.left, ellipsisAxes);
  const right = expandEllipsis(pattern.right, ellipsisAxes);
  const numbered = new Map([...pattern.left.numbered, ...pattern.right.numbered]);
  const lengths = inferLengths(left, right, numbered, shape, given);
  const lengthsOf = (axes: string[]) => axes.map((axis) => lengths.get(axis)!);

  const leftAxes = left.flat();
  const rightAxes = right.flat();
  const kept = leftAxes.filter((axis) => rightAxes.includes(axis));
  const plan = new PlanBuilder(shape);

  const reduced = leftAxes.flatMap((axis, i) => (rightAxes.includes(axis) ? [] : [i]));
  if (reduced.length > 0) {
    // checkOperation let axes go missing on the right only for a reduction.
    const reduction = operation as Reduction;
    plan.add({ kind: 'reduce', reduction, axes: reduced }, lengthsOf(leftAxes), lengthsOf(kept));
  }

  const order = rightAxes.filter((axis) => kept.includes(axis)).map((axis) => kept.indexOf(axis));
  const transpose = compactTranspose(lengthsOf(kept), order);
  if (!transpose.perm.every((axis, i) => axis === i)) {
    const transposed = transpose.perm.map((axis) => transpose.shape[axis]);
    plan.add({ kind: 'transpose', perm: transpose.perm }, transpose.shape, transposed);
  }

  const repeated = lengthsOf(rightAxes);
  const withNewAxesOfLength1 = rightAxes.map((axis, i) => (kept.includes(axis) ? repeated[i] : 1));
  if (!sameShape(withNewAxesOfLength1, repeated)) {
    plan.add({ kind: 'broadcast', shape: repeated }, withNewAxesOfLength1, repeated);
  }

  return plan.finish(right.map((dim) => product(lengthsOf(dim))));
}

/** Ids for the input dimensions that the left side's `...` stands for (none without one). */
function axesUnderEllipsis(left: Side, rank: number): string[] {
  const hasEllipsis = left.names.has(ELLIPSIS);
  const namedRank = left.dims.length - (hasEllipsis ? 1 : 0);
  if (hasEllipsis ? rank < namedRank : rank !== namedRank) {
    const needed = `${hasEllipsis ? 'at least ' : ''}${namedRank}`;
    throw new EinopsError(`the pattern needs an input of rank ${needed}, not ${rank}`);
  }
  return Array.from({ length: rank - namedRank }, (_, i) => `${ELLIPSIS}${i}`);
}

/** A side's dimensions as lists of elementary axes: a bare `...` becomes one dimension per axis. */
function expandEllipsis(side: Side, ellipsisAxes: string[]): string[][] {
  return side.dims.flatMap((dim) =>
    dim === ELLIPSIS
      ? ellipsisAxes.map((axis) => [axis])
      : [dim.flatMap((axis) => (axis === ELLIPSIS ? ellipsisAxes : [axis]))],
  );
}

/** Collects steps, inserting a reshape before a step only when it needs another view of the data. */
class PlanBuilder {
  private steps: Step[] = [];

  constructor(private shape: readonly number[]) {}

  add(step: Step, inputShape: number[], outputShape: number[]): void {
    this.reshapeTo(inputShape);
    this.steps.push(step);
    this.shape = outputShape;
  }

  finish(outputShape: number[]): Step[] {
    this.reshapeTo(outputShape);
    return this.steps;
  }

  private reshapeTo(shape: number[]): void {
    if (!sameShape(shape, this.shape)) this.steps.push({ kind: 'reshape', shape });
    this.shape = shape;
  }
}
