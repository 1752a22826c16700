import { EinopsError } from './errors.js';
import { dimLabel } from './parse.js';
import { product } from './shape.js';

/** Lengths of named axes given by the caller, e.g. `{ h: 8 }`. */
export type AxisLengths = Readonly<Record<string, number>>;

/**
 * The length of every elementary axis. Numbers in the pattern and `given` fix some; each input
 * dimension then yields the one unknown axis composed into it (its length over the product of the
 * others) or, when none is unknown, is checked against that product.
 */
export function inferLengths(
  left: string[][],
  right: string[][],
  numbered: ReadonlyMap<string, number>,
  shape: readonly number[],
  given: AxisLengths,
): Map<string, number> {
  const lengths = new Map(numbered);
  const namedAxes = new Set([...left.flat(), ...right.flat()].filter((axis) => !numbered.has(axis)));
  for (const [axis, length] of Object.entries(given)) {
    if (!namedAxes.has(axis)) throw new EinopsError(`axis ${axis} is given a length but is not in the pattern`);
    if (!Number.isInteger(length) || length < 1) {
      throw new EinopsError(`the length of axis ${axis} must be a positive integer, not ${length}`);
    }
    lengths.set(axis, length);
  }

  left.forEach((dim, i) => {
    const unknown = dim.filter((axis) => !lengths.has(axis));
    if (unknown.length > 1) {
      const names = unknown.join(' and ');
      throw new EinopsError(`can't infer the lengths of ${names} in '${dimLabel(dim)}': give all but one`);
    }
    const knownProduct = product(dim.filter((axis) => lengths.has(axis)).map((axis) => lengths.get(axis)!));
    const actual = `input dimension ${i} '${dimLabel(dim)}' has length ${shape[i]}`;
    if (unknown.length === 1) {
      if (shape[i] % knownProduct !== 0) throw new EinopsError(`${actual}, which is not divisible by ${knownProduct}`);
      lengths.set(unknown[0], shape[i] / knownProduct);
    } else if (shape[i] !== knownProduct) {
      throw new EinopsError(`${actual}, expected ${knownProduct}`);
    }
  });

  for (const axis of right.flat()) {
    if (!lengths.has(axis)) throw new EinopsError(`new axis ${axis} needs a length, e.g. { ${axis}: 2 }`);
  }
  return lengths;
}
