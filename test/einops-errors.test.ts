import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import * as tf from '@tensorflow/tfjs';
import { EinopsError, rearrange, reduce, repeat, type Reduction } from '../src/einops/index.js';

before(async () => {
  await tf.setBackend('cpu');
});

/** Asserts that `f` throws an EinopsError whose message quotes `pattern` and matches `reason`. */
function assertFails(f: () => unknown, pattern: string, reason: RegExp): void {
  assert.throws(f, (error: unknown) => {
    assert.ok(error instanceof EinopsError, `expected an EinopsError, got ${String(error)}`);
    assert.ok(error.message.includes(`'${pattern}'`), `message does not quote the pattern: ${error.message}`);
    assert.match(error.message, reason);
    return true;
  });
}

const x = tf.zeros([2, 6]);

test('malformed patterns', () => {
  const cases: [string, RegExp][] = [
    ['b (h -> b h', /unbalanced parentheses/],
    ['b h) -> b h', /unbalanced parentheses/],
    ['b h', /exactly one '->'/],
    ['a -> b -> c', /exactly one '->'/],
    ['((a b)) -> a b', /nested/],
    ['b 2x -> b 2x', /'2x' is not an axis name/],
    ['b _h -> b _h', /'_h' is not an axis name/],
    ['b h- -> b h', /'h-' is not an axis name/],
    ['b .. -> b', /'\.\.' is not an axis name/],
    ['b 0 -> b', /must be positive/],
  ];
  for (const [pattern, reason] of cases) assertFails(() => rearrange(x, pattern), pattern, reason);
});

test('duplicate axes and misplaced ellipses', () => {
  assertFails(() => rearrange(x, 'a a -> a'), 'a a -> a', /'a' appears twice/);
  assertFails(() => rearrange(x, 'a b -> (a a) b'), 'a b -> (a a) b', /'a' appears twice/);
  assertFails(() => rearrange(x, '... a ... -> a'), '... a ... -> a', /'\.\.\.' appears twice/);
  assertFails(() => rearrange(x, 'a b -> a b ...'), 'a b -> a b ...', /'\.\.\.' is on the right side but not the left/);
  assertFails(() => rearrange(x, 'a (...) -> a ...'), 'a (...) -> a ...', /inside parentheses on the left/);
});

test('axes must agree across the arrow as each operation needs', () => {
  assertFails(() => rearrange(x, 'a b -> a'), 'a b -> a', /axis b is on the left side only/);
  assertFails(() => rearrange(x, 'a b -> a b c d'), 'a b -> a b c d', /axes c, d are on the right side only/);
  assertFails(() => rearrange(x, 'a ... -> a'), 'a ... -> a', /axis \.\.\. is on the left side only/);
  assertFails(() => repeat(x, 'a b -> a'), 'a b -> a', /on the left side only \(only reduce/);
  assertFails(() => reduce(x, 'a b -> a c', 'sum'), 'a b -> a c', /on the right side only \(only repeat/);
  assertFails(() => rearrange(x, 'a b -> a b 3'), 'a b -> a b 3', /numbers other than 1/);
  assertFails(() => repeat(x, 'a (b 2) -> a b 2'), 'a (b 2) -> a b 2', /numbers other than 1/);
  assertFails(() => reduce(x, 'a b -> a 2', 'max'), 'a b -> a 2', /numbers other than 1/);
  const median = 'median' as Reduction;
  assertFails(() => reduce(x, 'a b -> a', median), 'a b -> a', /unknown reduction 'median'/);
});

test('the input rank must match the pattern', () => {
  assertFails(() => rearrange(x, 'a b c -> a b c'), 'a b c -> a b c', /rank 3, not 2/);
  assertFails(() => rearrange(x, 'a -> a'), 'a -> a', /rank 1, not 2/);
  assertFails(() => rearrange(x, 'a b c ... -> a b c ...'), 'a b c ... -> a b c ...', /rank at least 3, not 2/);
});

test('lengths must divide, match, be given where they cannot be inferred, and be sensible', () => {
  assertFails(() => rearrange(x, 'b (h w) -> b h w', { h: 4 }), 'b (h w) -> b h w', /length 6, which is not divisible/);
  assertFails(() => rearrange(x, 'b c -> c b', { b: 3 }), 'b c -> c b', /dimension 0 'b' has length 2, expected 3/);
  assertFails(() => rearrange(x, '1 c -> c'), '1 c -> c', /has length 2, expected 1/);
  assertFails(() => reduce(x, 'b (c 4) -> b c', 'max'), 'b (c 4) -> b c', /not divisible by 4/);
  assertFails(() => rearrange(x, 'b (h w) -> b h w'), 'b (h w) -> b h w', /can't infer the lengths of h and w/);
  assertFails(() => repeat(x, 'a b -> a b r'), 'a b -> a b r', /new axis r needs a length/);
  assertFails(() => rearrange(x, 'a b -> b a', { c: 2 }), 'a b -> b a', /axis c is given a length but is not in/);
  assertFails(() => repeat(x, 'a b -> a b r', { r: 0 }), 'a b -> a b r', /positive integer, not 0/);
  assertFails(() => repeat(x, 'a b -> a b r', { r: 1.5 }), 'a b -> a b r', /positive integer, not 1.5/);
});
