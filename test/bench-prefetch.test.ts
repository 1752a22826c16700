import assert from 'node:assert/strict';
import { test } from 'node:test';
import { prefetch } from '../src/data/prefetch.js';

/** A generator that records how many items it has built. */
function counted(count: number) {
  const log = { built: 0, closed: false };
  function* items() {
    try {
      for (let i = 0; i < count; i++) {
        log.built++;
        yield i;
      }
    } finally {
      log.closed = true;
    }
  }
  return { items: items(), log };
}

const aStep = () => new Promise((resolve) => setImmediate(resolve));

test('prefetch yields every item in order', async () => {
  const { items } = counted(5);
  const seen: number[] = [];
  for await (const item of prefetch(items)) seen.push(item);
  assert.deepEqual(seen, [0, 1, 2, 3, 4]);
});

test('the next item is built while the caller awaits its step, and no further ahead', async () => {
  const { items, log } = counted(10);
  for await (const item of prefetch(items)) {
    assert.equal(log.built, item + 1, 'nothing is built beyond the item handed out before the step');
    await aStep();
    assert.equal(log.built, item + 2 > 10 ? 10 : item + 2, 'the following item was built during the step');
    if (item === 3) break;
  }
  assert.equal(log.closed, true, 'stopping early closes the source');
});

test("the source's errors reach the caller", async () => {
  function* failing() {
    yield 1;
    throw new Error('corrupt batch');
  }
  const seen: number[] = [];
  await assert.rejects(async () => {
    for await (const item of prefetch(failing())) seen.push(item);
  }, /corrupt batch/);
  assert.deepEqual(seen, [1]);
});
