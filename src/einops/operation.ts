import { EinopsError } from './errors.js';
import type { Pattern } from './parse.js';

export const REDUCTIONS = ['sum', 'mean', 'max', 'min', 'prod'] as const;
export type Reduction = (typeof REDUCTIONS)[number];

/** What a pattern is applied for: a reduction's name stands for `reduce` with that reduction. */
export type Operation = 'rearrange' | 'repeat' | Reduction;

export function isReduction(operation: string): operation is Reduction {
  return (REDUCTIONS as readonly string[]).includes(operation);
}

/**
 * Checks that the pattern's two sides agree in the way `operation` needs: rearrange keeps every
 * axis, repeat may only add axes, reduce may only remove them.
 */
export function checkOperation({ left, right }: Pattern, operation: Operation): void {
  if (operation !== 'rearrange' && operation !== 'repeat' && !isReduction(operation)) {
    throw new EinopsError(`unknown reduction '${operation}', expected one of ${REDUCTIONS.join(', ')}`);
  }
  // A number is a fresh anonymous axis, so it can only be created (repeat) or reduced away (reduce).
  if ((left.numbered.size > 0 && !isReduction(operation)) || (right.numbered.size > 0 && operation !== 'repeat')) {
    throw new EinopsError('numbers other than 1 are allowed only for new axes in repeat and reduced axes in reduce');
  }
  const leftOnly = [...left.names].filter((name) => !right.names.has(name));
  const rightOnly = [...right.names].filter((name) => !left.names.has(name));
  if (leftOnly.length > 0 && !isReduction(operation)) {
    throw new EinopsError(`${axes(leftOnly)} on the left side only (only reduce can remove axes)`);
  }
  if (rightOnly.length > 0 && operation !== 'repeat') {
    throw new EinopsError(`${axes(rightOnly)} on the right side only (only repeat can add axes)`);
  }
}

function axes(names: string[]): string {
  return names.length === 1 ? `axis ${names[0]} is` : `axes ${names.join(', ')} are`;
}
