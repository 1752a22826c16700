import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseConfig } from '../src/config/load.js';
import { ConfigSchema } from '../src/config/schema.js';
import { UserError } from '../src/errors.js';

function rejects(data: Record<string, unknown>, ...fragments: string[]): void {
  assert.throws(
    () => parseConfig({ data }, 'test.json'),
    (err: unknown) => {
      assert.ok(err instanceof UserError, `expected UserError, got ${err}`);
      assert.ok(!err.message.includes('\n'), 'one line');
      for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should mention "${f}"`);
      return true;
    },
  );
}

test('every new augmentation is off by default', () => {
  const { data } = ConfigSchema.parse({});
  assert.equal(data.randaugment, null);
  assert.equal(data.mixup_alpha, 0);
  assert.equal(data.cutmix_alpha, 0);
  assert.equal(data.mix_prob, 1);
  assert.equal(data.switch_prob, 0.5);
  assert.equal(data.random_erasing, 0);
  assert.equal(data.random_erasing_mode, 'pixel');
});

test("randaugment takes n ≥ 1 and an integer m in 0-30, defaulting to torchvision's n 2, m 9", () => {
  assert.deepEqual(ConfigSchema.parse({ data: { randaugment: {} } }).data.randaugment, { n: 2, m: 9 });
  assert.deepEqual(ConfigSchema.parse({ data: { randaugment: { n: 3, m: 30 } } }).data.randaugment, { n: 3, m: 30 });
  rejects({ randaugment: { n: 2, m: 31 } }, 'data.randaugment.m');
  rejects({ randaugment: { n: 2, m: 4.5 } }, 'data.randaugment.m');
  rejects({ randaugment: { n: 0, m: 9 } }, 'data.randaugment.n');
  rejects({ randaugment: { n: 2, m: 9, p: 0.5 } }, 'data.randaugment', 'p');
});

test('mixing and erasing keys are range-checked', () => {
  const data = ConfigSchema.parse({ data: { mixup_alpha: 0.8, cutmix_alpha: 1, mix_prob: 0.5, switch_prob: 1, random_erasing: 0.25, random_erasing_mode: 'const' } }).data;
  assert.equal(data.mix_prob, 0.5);
  assert.equal(data.random_erasing_mode, 'const');
  rejects({ mixup_alpha: -0.1 }, 'data.mixup_alpha');
  rejects({ cutmix_alpha: -1 }, 'data.cutmix_alpha');
  rejects({ mix_prob: 1.5 }, 'data.mix_prob');
  rejects({ switch_prob: -0.1 }, 'data.switch_prob');
  rejects({ random_erasing: 2 }, 'data.random_erasing');
  rejects({ random_erasing_mode: 'rand' }, 'data.random_erasing_mode');
});
