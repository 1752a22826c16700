import { EinopsError } from './errors.js';

/** `...`: all the dimensions a pattern doesn't name. It is also the ellipsis' axis id. */
export const ELLIPSIS = '...';

/**
 * One dimension of a tensor as a pattern writes it: the elementary axes composed into it, outermost
 * first (row-major, as in einops). `(h p1)` is ['h', 'p1']; `1` and `()` are []. A bare `...` stays
 * ELLIPSIS until the input's rank says how many dimensions it stands for.
 */
export type Dim = string[] | typeof ELLIPSIS;

/** One side of a `->`. */
export interface Side {
  dims: Dim[];
  /** The named axes, and ELLIPSIS if the side has one. */
  names: Set<string>;
  /** Lengths of the axes written as numbers (`h w -> h w 3`), by id: every number is a new axis. */
  numbered: Map<string, number>;
}

export interface Pattern {
  left: Side;
  right: Side;
}

// Letters, digits and underscores, starting with a letter and not ending with an underscore, as einops.
const AXIS_NAME = /^\p{L}(?:[\p{L}\p{N}_]*[\p{L}\p{N}])?$/u;

/** Reads a pattern's syntax; whether it suits rearrange, repeat or reduce is checked later. */
export function parsePattern(pattern: string): Pattern {
  const sides = pattern.split('->');
  if (sides.length !== 2) throw new EinopsError("a pattern needs exactly one '->'");
  // Every number is an axis of its own, so its id counts them: '3#0', '3#1'. No name contains '#'.
  let numbers = 0;
  const numberId = (length: number) => `${length}#${numbers++}`;
  const left = parseSide(sides[0], numberId);
  const right = parseSide(sides[1], numberId);
  if (right.names.has(ELLIPSIS) && !left.names.has(ELLIPSIS)) {
    throw new EinopsError("'...' is on the right side but not the left");
  }
  if (left.dims.some((dim) => dim !== ELLIPSIS && dim.includes(ELLIPSIS))) {
    throw new EinopsError("'...' can't be inside parentheses on the left side");
  }
  return { left, right };
}

function parseSide(text: string, numberId: (length: number) => string): Side {
  const side: Side = { dims: [], names: new Set(), numbered: new Map() };
  let group: string[] | undefined; // the axes of the open parenthesis, if one is open
  const add = (axis: string) => {
    if (group) group.push(axis);
    else side.dims.push([axis]);
  };

  for (const token of text.match(/[()]|[^\s()]+/g) ?? []) {
    if (token === '(') {
      if (group) throw new EinopsError("parentheses can't be nested");
      group = [];
    } else if (token === ')') {
      if (!group) throw new EinopsError('unbalanced parentheses');
      side.dims.push(group);
      group = undefined;
    } else if (token === ELLIPSIS || AXIS_NAME.test(token)) {
      if (side.names.has(token)) throw new EinopsError(`'${token}' appears twice on one side`);
      side.names.add(token);
      if (token === ELLIPSIS && !group) side.dims.push(ELLIPSIS);
      else add(token);
    } else if (/^\d+$/.test(token)) {
      const length = Number(token);
      if (length === 0) throw new EinopsError('an axis length must be positive, not 0');
      // A 1 composes nothing: alone it is a dimension of length 1, inside parentheses it vanishes.
      if (length === 1) {
        if (!group) side.dims.push([]);
      } else {
        const id = numberId(length);
        side.numbered.set(id, length);
        add(id);
      }
    } else {
      throw new EinopsError(
        `'${token}' is not an axis name (letters, digits and _, starting with a letter), a number or '...'`,
      );
    }
  }
  if (group) throw new EinopsError('unbalanced parentheses');
  return side;
}

/** An axis as the pattern wrote it. */
export function axisLabel(axis: string): string {
  return axis.replace(/#\d+$/, '');
}

/** A dimension as the pattern wrote it, e.g. `(h p1)`. */
export function dimLabel(dim: readonly string[]): string {
  return dim.length === 1 ? axisLabel(dim[0]) : `(${dim.map(axisLabel).join(' ')})`;
}
