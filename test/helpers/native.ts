import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { nativeStatus } from '../../src/backend/native/addon.js';

/** CI sets VIT_REQUIRE_NATIVE=1: there a native test that cannot run fails instead of skipping. */
export const NATIVE_REQUIRED = /^(1|true|yes)$/i.test(process.env.VIT_REQUIRE_NATIVE ?? '');

/**
 * Whether the native kernels can run here; where they cannot, skips the test (or fails it when
 * they are required) and returns false.
 */
export function nativeOrSkip(t: TestContext): boolean {
  const native = nativeStatus();
  if (native.available) return true;
  if (NATIVE_REQUIRED) assert.fail(`VIT_REQUIRE_NATIVE is set, but the native kernels cannot run: ${native.reason}`);
  t.skip(`native kernels not in use: ${native.reason}`);
  return false;
}
