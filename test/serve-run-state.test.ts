import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigSchema } from '../src/config/schema.js';
import { runState } from '../src/serve/run-state.js';
import type { MetricsRow } from '../src/train/metrics-csv.js';

const MIN = 60_000;
const now = 1_000 * MIN;
const rows = (n: number, seconds = 60) => Array.from({ length: n }, (_, i) => ({ epoch: i + 1, epoch_seconds: seconds }) as MetricsRow);
const config = (settings: object = {}) => ConfigSchema.parse({ train: { epochs: 10 }, ...settings });

test('finished: at the planned last epoch (fit_to_budget\'s plan first), by early stopping, or at the time budget', () => {
  assert.deepEqual(runState({ config: config(), rows: rows(10), last: { epoch: 10 }, lastActivityMs: now, nowMs: now }), { state: 'finished', reason: 'completed 10 epochs', plannedEpochs: 10 });
  assert.equal(runState({ config: config(), rows: rows(6), last: { epoch: 6, planned_epochs: 6 }, lastActivityMs: 0, nowMs: now }).state, 'finished');
  const patient = config({ early_stopping: { enabled: true, patience: 3 } });
  assert.equal(runState({ config: patient, rows: rows(7), last: { epoch: 7, early_stopping: { bestEpoch: 4 } }, lastActivityMs: 0, nowMs: now }).reason, 'early stopping after epoch 7');
  assert.equal(runState({ config: patient, rows: rows(6), last: { epoch: 6, early_stopping: { bestEpoch: 4 } }, lastActivityMs: 0, nowMs: now }).state, 'stopped');
  const budget = config({ train: { epochs: 10, max_minutes: 5 } });
  assert.equal(runState({ config: budget, rows: rows(4), last: { epoch: 4, elapsed_seconds: 301 }, lastActivityMs: 0, nowMs: now }).reason, 'time budget of 5 min reached');
});

test('live while its files changed within twice the slowest epoch and two minutes, stopped after', () => {
  const at = (ago: number) => runState({ config: config(), rows: rows(3, 60), last: { epoch: 3 }, lastActivityMs: now - ago, nowMs: now }).state;
  assert.equal(at(3 * MIN), 'live');
  assert.equal(at(4.5 * MIN), 'stopped');
  // Before the first epoch ends there is nothing to time: an hour's grace.
  assert.equal(runState({ config: config(), rows: [], last: null, lastActivityMs: now - 50 * MIN, nowMs: now }).state, 'live');
  assert.equal(runState({ config: config(), rows: [], last: null, lastActivityMs: now - 70 * MIN, nowMs: now }).state, 'stopped');
});

test('a Ctrl-C mid-epoch is stopped, and says where', () => {
  assert.deepEqual(runState({ config: config(), rows: rows(10), last: { epoch: 9, step_in_epoch: 40 }, lastActivityMs: 0, nowMs: now }), { state: 'stopped', reason: 'interrupted in epoch 10', plannedEpochs: 10 });
});
