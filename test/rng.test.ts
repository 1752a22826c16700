import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../src/util/rng.js';

test('same seed gives the same stream; different seeds differ', () => {
  const a = new Rng(42), b = new Rng(42), c = new Rng(43);
  const xs = Array.from({ length: 5 }, () => a.nextUint32());
  assert.deepEqual(xs, Array.from({ length: 5 }, () => b.nextUint32()));
  assert.notDeepEqual(xs, Array.from({ length: 5 }, () => c.nextUint32()));
});

test('a restored state continues the stream exactly', () => {
  const a = new Rng(7);
  for (let i = 0; i < 10; i++) a.next();
  const b = new Rng(a.state());
  assert.deepEqual(Array.from({ length: 8 }, () => a.next()), Array.from({ length: 8 }, () => b.next()));
});

test('next() is in [0, 1) and roughly uniform; int(n) covers 0..n-1', () => {
  const r = new Rng(1);
  const counts = new Array(10).fill(0);
  let sum = 0;
  for (let i = 0; i < 20000; i++) {
    const x = r.next();
    assert.ok(x >= 0 && x < 1);
    sum += x;
    counts[r.int(10)]++;
  }
  assert.ok(Math.abs(sum / 20000 - 0.5) < 0.01);
  for (const c of counts) assert.ok(c > 1800 && c < 2200, `bucket count ${c}`);
});

test('shuffle is a permutation', () => {
  const a = new Rng(3).shuffle(Array.from({ length: 100 }, (_, i) => i));
  assert.deepEqual([...a].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
  assert.notDeepEqual(a, Array.from({ length: 100 }, (_, i) => i));
});
