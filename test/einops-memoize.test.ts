import assert from 'node:assert/strict';
import { test } from 'node:test';
import { memoize } from '../src/einops/memoize.js';

test('memoize computes once per key and forgets the oldest key past its capacity', () => {
  const computed: string[] = [];
  const length = memoize(2, (s: string) => s, (s: string) => {
    computed.push(s);
    return s.length;
  });
  assert.equal(length('ab'), 2);
  assert.equal(length('ab'), 2);
  assert.equal(length('abc'), 3);
  assert.deepEqual(computed, ['ab', 'abc']);
  length('abcd'); // evicts 'ab', the oldest
  length('abc');
  length('ab');
  assert.deepEqual(computed, ['ab', 'abc', 'abcd', 'ab']);
});

test('memoize does not cache a call that throws', () => {
  let calls = 0;
  const failing = memoize(4, (s: string) => s, () => {
    calls++;
    throw new Error('no');
  });
  assert.throws(() => failing('x'));
  assert.throws(() => failing('x'));
  assert.equal(calls, 2);
});
