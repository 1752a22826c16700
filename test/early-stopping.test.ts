import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigSchema, type EarlyStoppingConfig } from '../src/config/schema.js';
import { UserError } from '../src/errors.js';
import { EarlyStopping, type EarlyStoppingDecision } from '../src/train/early-stopping.js';

const config = (overrides: Partial<EarlyStoppingConfig>): EarlyStoppingConfig =>
  ConfigSchema.parse({ early_stopping: overrides }).early_stopping;

/** Feeds one value per epoch, numbering the epochs firstEpoch, firstEpoch + 1, … */
const accs = (stopper: EarlyStopping, xs: number[], firstEpoch = 1): EarlyStoppingDecision[] =>
  xs.map((val_acc, i) => stopper.update({ val_loss: 1, val_acc }, firstEpoch + i));
const losses = (stopper: EarlyStopping, xs: number[]): EarlyStoppingDecision[] =>
  xs.map((val_loss, i) => stopper.update({ val_loss, val_acc: 0 }, 1 + i));

test('mode max: stops after patience epochs without a new best, and says why', () => {
  const stopper = new EarlyStopping(config({ monitor: 'val_acc', mode: 'max', patience: 3 }));
  const decisions = accs(stopper, [0.5, 0.6, 0.812, 0.812, 0.7, 0.8]);
  assert.deepEqual(
    decisions.map((d) => d.improved),
    [true, true, true, false, false, false],
  );
  assert.deepEqual(
    decisions.map((d) => d.stop),
    [false, false, false, false, false, true],
  );
  assert.equal(decisions[5].reason, 'val_acc has not improved by more than 0 for 3 epochs (best 0.812 at epoch 3)');
});

test('mode min: a lower loss is an improvement and resets the count', () => {
  const stopper = new EarlyStopping(config({ monitor: 'val_loss', mode: 'min', patience: 2 }));
  const decisions = losses(stopper, [1, 0.9, 0.95, 0.8, 0.85, 0.8]);
  assert.deepEqual(
    decisions.map((d) => d.improved),
    [true, true, false, true, false, false],
  );
  assert.deepEqual(
    decisions.map((d) => d.stop),
    [false, false, false, false, false, true],
  );
});

test('min_delta: an improvement must be strictly larger than min_delta', () => {
  // Binary-exact values, so the edge is exactly at best + min_delta.
  const stopper = new EarlyStopping(config({ monitor: 'val_acc', mode: 'max', patience: 2, min_delta: 0.25 }));
  const decisions = accs(stopper, [0.25, 0.5, 0.625, 0.75]);
  assert.deepEqual(
    decisions.map((d) => d.improved),
    [true, false, true, false],
  );
  assert.equal(decisions[3].stop, false);
  const [last] = accs(stopper, [0.875], 5); // 0.875 = 0.625 + 0.25: still not more than min_delta
  assert.equal(last.stop, true);
  assert.match(last.reason ?? '', /by more than 0.25 for 2 epochs \(best 0.625 at epoch 3\)/);
});

test('disabled: never stops, still reports improvements', () => {
  const stopper = new EarlyStopping(config({ enabled: false, patience: 1 }));
  const decisions = accs(stopper, [0.5, 0.4, 0.4, 0.6]);
  assert.deepEqual(
    decisions.map((d) => [d.improved, d.stop]),
    [
      [true, false],
      [false, false],
      [false, false],
      [true, false],
    ],
  );
});

test('a state restored through JSON continues identically', () => {
  const cfg = config({ patience: 3 });
  const fresh = new EarlyStopping(cfg);
  fresh.setState(JSON.parse(JSON.stringify(fresh.getState()))); // no best yet (-Infinity) survives JSON
  assert.equal(accs(fresh, [0.1])[0].improved, true);

  const original = new EarlyStopping(cfg);
  accs(original, [0.5, 0.7, 0.6, 0.6]);
  const restored = new EarlyStopping(cfg);
  restored.setState(JSON.parse(JSON.stringify(original.getState())));
  const rest = [0.65, 0.71, 0.7, 0.7, 0.7];
  assert.deepEqual(accs(restored, rest, 5), accs(original, rest, 5));
  assert.throws(() => restored.setState({ best: null, bestEpoch: -1 }), UserError);
});

test("mode 'auto' follows the monitor; a contradicting mode is a user error", () => {
  const onLoss = new EarlyStopping(config({ monitor: 'val_loss', patience: 1 })); // mode defaults to auto
  assert.equal(onLoss.update({ val_loss: 1, val_acc: 0 }, 1).improved, true);
  assert.equal(onLoss.update({ val_loss: 0.5, val_acc: 0 }, 2).improved, true, 'a lower loss is better');
  assert.equal(onLoss.update({ val_loss: 0.7, val_acc: 0 }, 3).improved, false);
  assert.throws(
    () => new EarlyStopping(config({ monitor: 'val_loss', mode: 'max' })),
    (e) => e instanceof UserError && /early_stopping\.mode/.test(e.message),
  );
});
