import chalk from 'chalk';
import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { AUTO_ORDER, type BackendProbe } from '../src/backend/index.js';
import { backendsCommand } from '../src/cli/backends.js';

chalk.level = 0; // plain text to match, whatever the terminal

/** Runs `vit backends <args>` in this process and returns what it printed. */
async function runBackends(t: TestContext, args: string[]): Promise<string> {
  const log = t.mock.method(console, 'log', () => {});
  await backendsCommand().parseAsync(args, { from: 'user' });
  return log.mock.calls.map((call) => call.arguments.join(' ')).join('\n');
}

test('`vit backends --json` lists every backend in auto order, with reasons, and the one auto picks', async (t) => {
  const report = JSON.parse(await runBackends(t, ['--json'])) as { tfjs: string; auto: string; backends: BackendProbe[] };
  assert.match(report.tfjs, /^\d+\.\d+\.\d+$/);
  assert.deepEqual(report.backends.map((b) => b.name), AUTO_ORDER);
  for (const b of report.backends.filter((b) => !b.available)) {
    assert.ok(b.reason && b.fix, `${b.name} is unavailable without a reason and a fix`);
  }
  assert.equal(report.auto, report.backends.find((b) => b.autoSelectable)?.name);
  const wasm = report.backends.find((b) => b.name === 'wasm')!;
  assert.ok(wasm.available);
  assert.match(wasm.details.simd, /^(yes|no)$/);
});

test('`vit backends` prints one status line per backend and the pick of auto', async (t) => {
  const text = await runBackends(t, []);
  for (const name of AUTO_ORDER) assert.match(text, new RegExp(`^${name} +(available|unavailable)`, 'm'));
  assert.match(text, /^auto picks (cuda|webgpu|tensorflow|wasm|cpu)$/m);
});
