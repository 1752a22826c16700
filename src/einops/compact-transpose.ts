import { product } from './shape.js';

/**
 * The smallest transpose that moves the axes of `shape` into the order `perm`: axes of length 1 are
 * dropped and axes that stay next to each other travel as one, since neither changes where any
 * element goes. Returns the shape to view the input as and the permutation of that view. This turns
 * the ViT patch pattern's 6-D transpose into a 4-D one, which matters: tfjs's wasm backend runs 5-D
 * transposes ~60x slower than 4-D ones.
 */
export function compactTranspose(
  shape: readonly number[],
  perm: readonly number[],
): { shape: number[]; perm: number[] } {
  const moving = perm.filter((axis) => shape[axis] !== 1);
  const inputOrder = [...moving].sort((a, b) => a - b);
  const follows = (axis: number, previous: number) => inputOrder.indexOf(axis) === inputOrder.indexOf(previous) + 1;

  // Maximal runs of axes that are neighbours in the input and stay neighbours in the output, in output order.
  const runs: number[][] = [];
  for (const axis of moving) {
    const run = runs.at(-1);
    if (run && follows(axis, run.at(-1)!)) run.push(axis);
    else runs.push([axis]);
  }

  const runsInInputOrder = [...runs].sort((a, b) => a[0] - b[0]);
  return {
    shape: runsInInputOrder.map((run) => product(run.map((axis) => shape[axis]))),
    perm: runs.map((run) => runsInInputOrder.indexOf(run)),
  };
}
