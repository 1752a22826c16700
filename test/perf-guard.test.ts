import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { useBackend } from '../src/backend/index.js';
import { nativeStatus } from '../src/backend/native/addon.js';
import { GUARD_CONFIGS, GUARD_STEPS, type GuardModel, guardLosses } from '../src/speed/guard-run.js';
import { NATIVE_REQUIRED } from './helpers/native.js';

/**
 * Performance work must not change results: the guard runs' per-step losses must match the ones
 * recorded on known-good code (src/speed/record-golden.ts): the ViT's before any optimisation on
 * both CPU backends, the CCT's on the cpu backend (tfjs's JavaScript kernels). On wasm the native
 * kernels are what is guarded: where they are required (CI), a run without them fails.
 *
 * Tolerance 1e-4 relative: a faster kernel may sum in another order, which moves float32 results
 * by a few ulps (~1e-7); over 20 Adam steps such differences grow, but stay far below 1e-4 (cpu
 * and wasm, whose kernels differ, agree to 3e-7). A real change in the math — a wrong transpose,
 * a dropped bias, a mis-scaled update, different dropout masks — moves the loss by 1e-3 or more
 * within a few steps.
 */
const golden = JSON.parse(readFileSync('test/fixtures/guard-losses.json', 'utf8')) as { losses: Record<GuardModel, Record<string, number[]>> };
const RELATIVE_TOLERANCE = 1e-4;

for (const model of Object.keys(GUARD_CONFIGS) as GuardModel[]) {
  for (const backend of ['cpu', 'wasm'] as const) {
    test(`${model} guard run on ${backend} reproduces the recorded losses of ${GUARD_STEPS} steps`, async () => {
      await useBackend(backend);
      const native = nativeStatus();
      if (backend === 'wasm' && NATIVE_REQUIRED) assert.ok(native.available, `the native kernels are required but not loaded: ${native.available || native.reason}`);
      const losses = await guardLosses(model);
      const expected = golden.losses[model][backend] ?? golden.losses[model].cpu;
      assert.equal(losses.length, expected.length);
      losses.forEach((loss, step) => {
        const error = Math.abs(loss - expected[step]) / Math.abs(expected[step]);
        assert.ok(error <= RELATIVE_TOLERANCE, `step ${step}: loss ${loss}, recorded ${expected[step]} (relative error ${error.toExponential(2)})`);
      });
    });
  }
}
