import { readFile, writeFile } from 'node:fs/promises';
import { useBackend } from '../backend/index.js';
import { GUARD_CONFIGS, GUARD_STEPS, type GuardModel, guardLosses } from './guard-run.js';

/**
 * Records the guard run's losses of one model on the given backends into
 * test/fixtures/guard-losses.json, keeping what is recorded for the others. Run it only on code
 * whose results are known good: the ViT's were recorded before any optimisation (cpu and wasm),
 * the CCT's on the cpu backend (tfjs's own JavaScript kernels, none of vit's native ones):
 *   node --import tsx src/speed/record-golden.ts cct cpu
 */
const [model, ...backends] = process.argv.slice(2) as [GuardModel, ...('cpu' | 'wasm')[]];
if (!(model in GUARD_CONFIGS) || backends.length === 0) throw new Error('usage: record-golden.ts vit|cct cpu|wasm...');
const path = 'test/fixtures/guard-losses.json';
const fixture = JSON.parse(await readFile(path, 'utf8')) as { steps: number; recorded: Record<string, string>; losses: Record<string, Record<string, number[]>> };
for (const backend of backends) {
  await useBackend(backend);
  fixture.losses[model] = { ...fixture.losses[model], [backend]: await guardLosses(model) };
  fixture.recorded[`${model}/${backend}`] = new Date().toISOString().slice(0, 10);
}
fixture.steps = GUARD_STEPS;
await writeFile(path, JSON.stringify(fixture, null, 2) + '\n');
console.log(JSON.stringify(fixture.losses[model]));
