import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigSchema, type ScheduleConfig } from '../src/config/schema.js';
import { UserError } from '../src/errors.js';
import { createSchedule, type Schedule } from '../src/train/schedule.js';

const config = (overrides: Partial<ScheduleConfig>): ScheduleConfig => ({ ...ConfigSchema.parse({}).schedule, ...overrides });

function assertLr(schedule: Schedule, step: number, expected: number): void {
  const lr = schedule.lrAt(step);
  assert.ok(Math.abs(lr - expected) <= 1e-12, `step ${step}: lr ${lr}, expected ${expected}`);
}

/** The LR after each epoch end, fed one val_loss/val_acc pair per epoch. */
function lrsAfterEpochs(schedule: Schedule, metrics: { val_loss: number; val_acc: number }[]): number[] {
  return metrics.map((m) => {
    schedule.onEpochEnd(m);
    return schedule.lrAt(0);
  });
}

const losses = (xs: number[]) => xs.map((val_loss) => ({ val_loss, val_acc: 0 }));

test('cosine: linear warmup per step, then per-step cosine from lr down to min_lr', () => {
  // 10 epochs of 10 steps, 2 warmup epochs: W = 20 warmup steps, T = 80 cosine steps.
  const s = createSchedule(config({ name: 'cosine', warmup_epochs: 2, min_lr: 1e-5 }), 1e-3, 10, 10);
  assertLr(s, 0, 1e-3 / 20);
  assertLr(s, 9, 1e-3 * (10 / 20));
  assertLr(s, 19, 1e-3); // last warmup step reaches lr
  assertLr(s, 20, 1e-3); // t = 0
  assertLr(s, 40, 0.000855017856687341); // t = 20: 1e-5 + ½·0.99e-3·(1 + cos(π/4))
  assertLr(s, 60, (1e-3 + 1e-5) / 2); // t = T/2
  assertLr(s, 99, 1.0381627060842164e-5); // last step, t = 79
  assertLr(s, 100, 1e-5); // t = T
});

test('cosine without warmup starts at lr', () => {
  const s = createSchedule(config({ name: 'cosine', min_lr: 0 }), 0.1, 5, 4);
  assertLr(s, 0, 0.1);
  assertLr(s, 10, 0.05);
});

test('step: multiplies by gamma every step_epochs epochs after warmup, not below min_lr', () => {
  // 4 steps per epoch, 1 warmup epoch, halve every 3 epochs.
  const s = createSchedule(config({ name: 'step', warmup_epochs: 1, step_epochs: 3, gamma: 0.5, min_lr: 0.01 }), 0.1, 4, 20);
  assertLr(s, 0, 0.025);
  assertLr(s, 3, 0.1);
  assertLr(s, 11, 0.1); // epoch 2
  assertLr(s, 12, 0.05); // epoch 3
  assertLr(s, 24, 0.025); // epoch 6
  assertLr(s, 36, 0.0125); // epoch 9
  assertLr(s, 48, 0.01); // epoch 12: 0.00625 is below min_lr
});

test('constant: lr after warmup', () => {
  const s = createSchedule(config({ name: 'constant', warmup_epochs: 0.5 }), 0.5, 4, 3);
  assertLr(s, 0, 0.25);
  assertLr(s, 1, 0.5);
  assertLr(s, 11, 0.5);
});

test('plateau: patience, relative threshold and cooldown as in PyTorch', () => {
  const s = createSchedule(config({ name: 'plateau', factor: 0.5, patience: 2, cooldown: 1, threshold: 0.1 }), 1, 10, 10);
  const lrs = lrsAfterEpochs(s, losses([1.0, 0.95, 0.91, 0.95, 0.95, 0.95, 0.95, 0.89, 0.89, 0.89, 0.89]));
  // 0.95 and 0.91 are not 10% below the best (1.0): bad epochs 1, 2, 3 > patience: halve at epoch 4.
  // Epoch 5 is in cooldown and does not count; epochs 6, 7 are bad 1, 2; 0.89 < 0.9 is an
  // improvement at epoch 8; then bad 1, 2, 3 and another halving at epoch 11.
  assert.deepEqual(lrs, [1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.25]);
});

test('plateau: never below min_lr', () => {
  const s = createSchedule(config({ name: 'plateau', factor: 0.5, patience: 0, min_lr: 0.3 }), 1, 10, 10);
  assert.deepEqual(lrsAfterEpochs(s, losses([1, 1, 1, 1])), [1, 0.5, 0.3, 0.3]);
});

test('plateau: mode max on val_acc', () => {
  const s = createSchedule(
    config({ name: 'plateau', monitor: 'val_acc', mode: 'max', factor: 0.1, patience: 1, threshold: 0.01 }),
    1,
    10,
    10,
  );
  // Relative threshold: 0.504 is not 1% above 0.5, 0.508 is (an absolute 0.01 would not be).
  // val_loss stays flat and must be ignored.
  const accs = [0.5, 0.504, 0.508, 0.508, 0.508].map((val_acc) => ({ val_loss: 1, val_acc }));
  assert.deepEqual(lrsAfterEpochs(s, accs), [1, 1, 1, 1, 0.1]);
});

test('plateau: a state restored through JSON continues identically', () => {
  const cfg = config({ name: 'plateau', factor: 0.5, patience: 1, cooldown: 2 });
  const original = createSchedule(cfg, 1, 10, 10);
  const fresh = createSchedule(cfg, 1, 10, 10);
  fresh.setState(JSON.parse(JSON.stringify(fresh.getState()))); // no best yet (Infinity) survives JSON
  assert.deepEqual(lrsAfterEpochs(fresh, losses([5])), [1]);

  lrsAfterEpochs(original, losses([1, 2, 2, 2]));
  const restored = createSchedule(cfg, 1, 10, 10);
  restored.setState(JSON.parse(JSON.stringify(original.getState())));
  const rest = losses([2, 2, 0.5, 2, 2, 2]);
  assert.deepEqual(lrsAfterEpochs(restored, rest), lrsAfterEpochs(original, rest));
});

test('setState refuses a state from another schedule or a malformed one', () => {
  const cosine = createSchedule(config({ name: 'cosine' }), 1, 10, 10);
  const plateau = createSchedule(config({ name: 'plateau' }), 1, 10, 10);
  cosine.setState(cosine.getState());
  assert.throws(() => cosine.setState(plateau.getState()), UserError);
  assert.throws(() => plateau.setState(cosine.getState()), UserError);
  assert.throws(() => plateau.setState({ ...plateau.getState(), lr: 'high' }), UserError);
});

test('config mistakes are user errors that name the key', () => {
  const cases: [Partial<ScheduleConfig>, RegExp][] = [
    [{ name: 'plateau', warmup_epochs: 1 }, /schedule\.warmup_epochs/],
    [{ name: 'cosine', warmup_epochs: 10 }, /schedule\.warmup_epochs/],
    [{ name: 'plateau', monitor: 'val_acc', mode: 'min' }, /schedule\.mode/],
  ];
  for (const [overrides, message] of cases) {
    assert.throws(() => createSchedule(config(overrides), 1, 10, 10), (e) => e instanceof UserError && message.test(e.message));
  }
});
