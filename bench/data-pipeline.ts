// How many training images per second the input pipeline alone produces (shuffle, random crop,
// flip, normalize, batch) on the one core it runs on. Training must never wait for it: the target
// is at least 50,000 img/s. It also measures the heavier recipe, RandAugment(2, 9) on top with
// mixup/cutmix over each batch. Usage: npx tsx bench/data-pipeline.ts [--data-dir DIR]
// (without a dataset in DIR it uses a synthetic one). Time is this process's CPU time, so that
// other load on the machine slows the run down but does not change the number much.
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { trainBatches, type TrainBatchOptions } from '../src/data/batches.js';
import { DATASET_DIR, loadCifar10, type Split } from '../src/data/cifar10.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';
import { Rng } from '../src/util/rng.js';

const SECONDS = 5;
const cropFlip = { batchSize: 128, cropPadding: 4, flip: true };
const recipe = {
  ...cropFlip,
  randAugment: { n: 2, m: 9 },
  mix: { mixupAlpha: 0.8, cutmixAlpha: 1, mixProb: 1, switchProb: 0.5, labelSmoothing: 0.1 },
};

const { values } = parseArgs({ options: { 'data-dir': { type: 'string', default: 'data' } } });
let batchesDir = join(values['data-dir'], DATASET_DIR);
let syntheticDir: string | null = null;
if (!existsSync(batchesDir)) {
  syntheticDir = await mkdtemp(join(tmpdir(), 'vit-bench-data-'));
  batchesDir = await writeSyntheticCifar10(syntheticDir, { perBatch: 2_000, seed: 0 });
}
const { train } = await loadCifar10(batchesDir);
if (syntheticDir) await rm(syntheticDir, { recursive: true, force: true });
const source = syntheticDir ? `synthetic, ${train.count} images` : batchesDir;

/** Images per CPU second for batches built with `options`. */
function measure(split: Split, options: Omit<TrainBatchOptions, 'rng'>): number {
  const rng = new Rng(0);
  trainBatches(split, { ...options, rng }).next(); // warms up the JIT on the hot loop

  let images = 0;
  const started = process.cpuUsage();
  const elapsed = () => {
    const { user, system } = process.cpuUsage(started);
    return (user + system) / 1e6;
  };
  while (elapsed() < SECONDS) {
    for (const batch of trainBatches(split, { ...options, rng })) {
      images += batch.size;
      if (elapsed() >= SECONDS) break;
    }
  }
  return images / elapsed();
}

console.log(`${Math.round(measure(train, cropFlip))} img/s per core (crop + flip + normalize, batch ${cropFlip.batchSize}; ${source})`);
console.log(`${Math.round(measure(train, recipe))} img/s per core (+ RandAugment(2, 9) + mixup/cutmix, batch ${recipe.batchSize}; ${source})`);
