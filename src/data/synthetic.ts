import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng } from '../util/rng.js';
import { CLASS_NAMES, DATASET_DIR, IMAGE_SIZE, META_FILE, NUM_CLASSES, RECORD_BYTES, TEST_FILE, TRAIN_FILES } from './cifar10.js';
import { CIFAR100 } from './datasets.js';

/** One clearly distinct colour per class (Sasha Trubetskoy's list of 20 distinct colours). */
const CLASS_COLOURS = [
  [230, 25, 75], [60, 180, 75], [255, 225, 25], [0, 130, 200], [245, 130, 48],
  [145, 30, 180], [70, 240, 240], [240, 50, 230], [210, 245, 60], [250, 190, 212],
];

/** Per-pixel noise amplitude: enough that no single pixel gives the class away exactly. */
const NOISE = 48;

/**
 * Writes `dir/cifar-10-batches-bin/` in the exact CIFAR-10 binary format, `perBatch` records in
 * each of the six batch files, so that CI can train end to end without the real dataset. Each
 * image is its class's colour plus noise: a model that learns anything reaches ~100% accuracy.
 * Returns the path of the written directory.
 */
export async function writeSyntheticCifar10(dir: string, opts: { perBatch: number; seed: number }): Promise<string> {
  const rng = new Rng(opts.seed);
  const out = join(dir, DATASET_DIR);
  await mkdir(out, { recursive: true });
  for (const file of [...TRAIN_FILES, TEST_FILE]) await writeFile(join(out, file), syntheticRecords(opts.perBatch, rng));
  await writeFile(join(out, META_FILE), CLASS_NAMES.join('\n') + '\n');
  return out;
}

function syntheticRecords(count: number, rng: Rng): Uint8Array {
  const bytes = new Uint8Array(count * RECORD_BYTES);
  // Writes through this view clamp to 0-255 instead of wrapping around.
  const clamped = new Uint8ClampedArray(bytes.buffer);
  const pixels = IMAGE_SIZE * IMAGE_SIZE;
  // Classes in turn, then shuffled: every file is balanced, as in the real dataset.
  const labels = rng.shuffle(Array.from({ length: count }, (_, i) => i % NUM_CLASSES));
  labels.forEach((label, r) => {
    const record = r * RECORD_BYTES;
    bytes[record] = label;
    CLASS_COLOURS[label].forEach((value, channel) => {
      const plane = record + 1 + channel * pixels;
      for (let p = 0; p < pixels; p++) clamped[plane + p] = value + rng.int(2 * NOISE + 1) - NOISE;
    });
  });
  return bytes;
}

/**
 * Writes `dir/cifar-100-binary/` in the exact CIFAR-100 binary format: `train` records in
 * train.bin and `test` in test.bin, each a coarse label byte, a fine label byte and the image
 * planes, with the two label names files. Fine labels go round all 100 classes; each image is a
 * colour of its fine class plus noise, and its coarse label is fine / 5 (rounded down: a
 * stand-in, not CIFAR-100's real superclass of that class). Returns the written directory.
 */
export async function writeSyntheticCifar100(dir: string, opts: { train: number; test: number; seed: number }): Promise<string> {
  const rng = new Rng(opts.seed);
  const out = join(dir, CIFAR100.dir);
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'train.bin'), syntheticCifar100Records(opts.train, rng));
  await writeFile(join(out, 'test.bin'), syntheticCifar100Records(opts.test, rng));
  for (const set of Object.values(CIFAR100.labels)) await writeFile(join(out, set.namesFile), set.names.join('\n') + '\n');
  return out;
}

function syntheticCifar100Records(count: number, rng: Rng): Uint8Array {
  const fineClasses = CIFAR100.labels.fine!.names.length;
  const recordBytes = CIFAR100.labelBytes + IMAGE_SIZE * IMAGE_SIZE * 3;
  const bytes = new Uint8Array(count * recordBytes);
  const clamped = new Uint8ClampedArray(bytes.buffer);
  const pixels = IMAGE_SIZE * IMAGE_SIZE;
  const labels = rng.shuffle(Array.from({ length: count }, (_, i) => i % fineClasses));
  labels.forEach((fine, r) => {
    const record = r * recordBytes;
    bytes[record + CIFAR100.labels.coarse!.offset] = Math.floor(fine / 5);
    bytes[record + CIFAR100.labels.fine!.offset] = fine;
    // A colour per fine class, spread over the RGB cube.
    const colour = [(fine * 67) % 256, (fine * 151) % 256, (fine * 29 + 90) % 256];
    colour.forEach((value, channel) => {
      const plane = record + CIFAR100.labelBytes + channel * pixels;
      for (let p = 0; p < pixels; p++) clamped[plane + p] = value + rng.int(2 * NOISE + 1) - NOISE;
    });
  });
  return bytes;
}
