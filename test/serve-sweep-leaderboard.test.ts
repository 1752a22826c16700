import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type SweepTrial, sweepLeaderboard } from '../src/serve/sweep-leaderboard.js';

const trial = (id: string, lr: number, seed: number, bestVal: number | null, extra: object = {}): SweepTrial => ({
  id,
  config: { run_name: id, seed, optimizer: { name: 'adamw', lr }, train: { epochs: 10 }, ...extra },
  bestVal,
  test: null,
  state: 'finished',
});

test("trials are grouped by sweep.json's grid keys (not its seed) and ranked by their mean best val accuracy", () => {
  const board = sweepLeaderboard({ grid: { 'optimizer.lr': [0.001, 0.003], seed: [1, 2] } }, [
    trial('000', 0.001, 1, 0.5),
    trial('001', 0.001, 2, 0.6),
    trial('002', 0.003, 1, 0.7),
    trial('003', 0.003, 2, 0.7),
  ]);
  assert.deepEqual(board.keys, ['optimizer.lr']);
  assert.equal(board.keySource, 'sweep.json grid');
  const round = (x: number | null) => (x === null ? null : Number(x.toPrecision(12)));
  assert.deepEqual(board.rows.map((r) => [r.rank, r.settings, r.trials, round(r.meanVal), round(r.stdVal)]), [
    [1, { 'optimizer.lr': 0.003 }, ['002', '003'], 0.7, 0],
    [2, { 'optimizer.lr': 0.001 }, ['000', '001'], 0.55, round(Math.sqrt(0.005))],
  ]);
});

test('without a grid, the settings are the config keys that differ between trials, besides seed and name', () => {
  const board = sweepLeaderboard({ name: 'x' }, [trial('a', 0.001, 1, 0.4), trial('b', 0.001, 2, null, { train: { epochs: 20 } }), trial('c', 0.01, 1, 0.3)]);
  assert.deepEqual(board.keys, ['optimizer.lr', 'train.epochs']);
  assert.equal(board.keySource, 'config keys that differ between trials');
  // A trial with no finished epoch has no mean: it ranks last.
  assert.deepEqual(board.rows.map((r) => [r.trials, r.meanVal, r.stdVal]), [[['a'], 0.4, null], [['c'], 0.3, null], [['b'], null, null]]);
});
