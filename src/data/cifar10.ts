import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';

/**
 * The CIFAR-10 binary format: files of 3,073-byte records, each a label byte (0-9) followed by
 * the red, green and blue planes of a 32x32 image, row-major. We convert the planes to NHWC once
 * at load, so that a batch is built from contiguous 3,072-byte runs.
 */
export const IMAGE_SIZE = 32;
export const CHANNELS = 3;
export const IMAGE_BYTES = IMAGE_SIZE * IMAGE_SIZE * CHANNELS;
export const RECORD_BYTES = 1 + IMAGE_BYTES;
export const NUM_CLASSES = 10;
/** The class names, by label, as batches.meta.txt lists them. */
export const CLASS_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** The names of a model's classes: CIFAR-10's when it has ten, else `class i`. */
export function classNames(numClasses: number): string[] {
  return Array.from({ length: numClasses }, (_, i) => (numClasses === CLASS_NAMES.length ? CLASS_NAMES[i] : `class ${i}`));
}

export const DATASET_DIR = 'cifar-10-batches-bin';
export const TRAIN_FILES = [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`);
export const TEST_FILE = 'test_batch.bin';
export const META_FILE = 'batches.meta.txt';
export const DATASET_FILES = [...TRAIN_FILES, TEST_FILE, META_FILE];

/** `count` images as NHWC uint8 (`count`·32·32·3 bytes) with their labels. */
export interface Split {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export interface Cifar10 {
  train: Split;
  test: Split;
  classes: string[];
}

export async function loadCifar10(batchesDir: string): Promise<Cifar10> {
  const metaPath = join(batchesDir, META_FILE);
  const classes = parseClassNames(await readExplained(metaPath, (p) => readFile(p, 'utf8')), metaPath);
  const trainPaths = TRAIN_FILES.map((f) => join(batchesDir, f));
  const testPath = join(batchesDir, TEST_FILE);
  const perFile = await checkRecordCounts([...trainPaths, testPath]);
  return {
    train: await readSplit(trainPaths, perFile),
    test: await readSplit([testPath], perFile),
    classes,
  };
}

/** Images per class, indexed by label. */
export function classCounts(split: Split): number[] {
  const counts = new Array<number>(NUM_CLASSES).fill(0);
  for (let i = 0; i < split.count; i++) counts[split.labels[i]]++;
  return counts;
}

/**
 * Checks sizes before reading anything big. Any record count is accepted (small synthetic sets
 * are valid datasets) as long as every batch file has the same one, as in the real dataset.
 */
async function checkRecordCounts(paths: string[]): Promise<number> {
  const sizes = await Promise.all(paths.map((path) => readExplained(path, async (p) => (await stat(p)).size)));
  paths.forEach((path, i) => {
    if (sizes[i] === 0) throw new UserError(`${path}: file is empty`);
    if (sizes[i] % RECORD_BYTES !== 0) {
      throw new UserError(`${path}: size ${sizes[i]} bytes is not a multiple of the ${RECORD_BYTES}-byte CIFAR-10 record (truncated file?)`);
    }
  });
  const perFile = sizes[0] / RECORD_BYTES;
  paths.forEach((path, i) => {
    if (sizes[i] / RECORD_BYTES !== perFile) {
      throw new UserError(
        `${path}: has ${sizes[i] / RECORD_BYTES} records but ${paths[0]} has ${perFile}; ` +
          `all five data batches and ${TEST_FILE} must have the same number of records`,
      );
    }
  });
  return perFile;
}

async function readSplit(paths: string[], perFile: number): Promise<Split> {
  const count = paths.length * perFile;
  const split: Split = { images: new Uint8Array(count * IMAGE_BYTES), labels: new Uint8Array(count), count };
  for (const [i, path] of paths.entries()) decodeRecords(await readExplained(path, (p) => readFile(p)), path, split, i * perFile);
  return split;
}

/** Label bytes → labels, R/G/B planes → interleaved NHWC pixels. */
function decodeRecords(bytes: Uint8Array, path: string, into: Split, first: number): void {
  const { images, labels } = into;
  const pixels = IMAGE_SIZE * IMAGE_SIZE;
  for (let r = 0; r * RECORD_BYTES < bytes.length; r++) {
    const record = r * RECORD_BYTES;
    const label = bytes[record];
    if (label >= NUM_CLASSES) throw new UserError(`${path}: record ${r} has label ${label}, expected 0-${NUM_CLASSES - 1}`);
    labels[first + r] = label;
    const red = record + 1, green = red + pixels, blue = green + pixels;
    let out = (first + r) * IMAGE_BYTES;
    for (let p = 0; p < pixels; p++, out += CHANNELS) {
      images[out] = bytes[red + p];
      images[out + 1] = bytes[green + p];
      images[out + 2] = bytes[blue + p];
    }
  }
}

function parseClassNames(text: string, path: string): string[] {
  const names = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  if (names.length !== NUM_CLASSES) {
    throw new UserError(`${path}: expected ${NUM_CLASSES} class names, one per line, found ${names.length}`);
  }
  return names;
}

/** Runs `read(path)`, turning a missing file into a UserError that says how to get the dataset. */
async function readExplained<T>(path: string, read: (path: string) => Promise<T>): Promise<T> {
  try {
    return await read(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    throw new UserError(`${path}: file not found (run \`vit data download\` to fetch CIFAR-10)`);
  }
}
