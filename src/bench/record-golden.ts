import { writeFile } from 'node:fs/promises';
import { useBackend } from '../backend/index.js';
import { GUARD_STEPS, guardLosses } from './guard-run.js';

/**
 * Records the guard run's losses on cpu and wasm into test/fixtures/guard-losses.json.
 * Run it only on code whose results are known good (it was first run before any optimisation):
 *   node --import tsx src/bench/record-golden.ts
 */
const golden: Record<string, number[]> = {};
for (const backend of ['cpu', 'wasm'] as const) {
  await useBackend(backend);
  golden[backend] = await guardLosses();
}
const fixture = { steps: GUARD_STEPS, recorded: new Date().toISOString().slice(0, 10), losses: golden };
await writeFile('test/fixtures/guard-losses.json', JSON.stringify(fixture, null, 2) + '\n');
console.log(JSON.stringify(golden));
