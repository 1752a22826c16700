import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { CIFAR10, DATASETS, type DatasetChoice, type DatasetSpec, classNamesForCount, datasetFiles, labelSetOf } from './datasets.js';

/**
 * The CIFAR binary format (datasets.ts describes each dataset): files of records, each its label
 * byte(s) followed by the red, green and blue planes of a 32x32 image, row-major. We convert the
 * planes to NHWC once at load, so that a batch is built from contiguous 3,072-byte runs.
 */
export const IMAGE_SIZE = 32;
export const CHANNELS = 3;
export const IMAGE_BYTES = IMAGE_SIZE * IMAGE_SIZE * CHANNELS;
/** CIFAR-10's record: one label byte and the image. */
export const RECORD_BYTES = CIFAR10.labelBytes + IMAGE_BYTES;
export const NUM_CLASSES = CIFAR10.labels.fine!.names.length;
/** CIFAR-10's class names, by label, as batches.meta.txt lists them. */
export const CLASS_NAMES = [...CIFAR10.labels.fine!.names];

/** The names of a model's classes when only their number is known: those of the label set of that size, else `class i`. */
export function classNames(numClasses: number): string[] {
  return classNamesForCount(numClasses);
}

export const DATASET_DIR = CIFAR10.dir;
export const TRAIN_FILES = [...CIFAR10.trainFiles];
export const TEST_FILE = CIFAR10.testFile;
export const META_FILE = CIFAR10.labels.fine!.namesFile;
export const DATASET_FILES = datasetFiles(CIFAR10);

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

/** CIFAR-10 from its unpacked directory (`cifar-10-batches-bin/`). */
export async function loadCifar10(batchesDir: string): Promise<Cifar10> {
  return loadDataset(batchesDir, { dataset: 'cifar10', labels: 'fine' });
}

/**
 * The dataset `choice` names (data.dataset, data.labels) from its unpacked directory: its train
 * and test files, labelled with the chosen label byte, and the class names its names file lists.
 */
export async function loadDataset(dir: string, choice: DatasetChoice): Promise<Cifar10> {
  const spec = DATASETS[choice.dataset];
  const labels = labelSetOf(choice);
  if (!labels) throw new UserError(`${spec.title} has no ${choice.labels} labels`);
  const namesPath = join(dir, labels.namesFile);
  const classes = parseClassNames(await readExplained(namesPath, spec, (p) => readFile(p, 'utf8')), namesPath, labels.names.length);
  const format: RecordFormat = { recordBytes: spec.labelBytes + IMAGE_BYTES, labelOffset: labels.offset, classes: classes.length, title: spec.title };
  const trainPaths = spec.trainFiles.map((f) => join(dir, f));
  const testPath = join(dir, spec.testFile);
  const counts = await checkRecordCounts([...trainPaths, testPath], spec, format);
  return {
    train: await readSplit(trainPaths, counts.slice(0, -1), spec, format),
    test: await readSplit([testPath], counts.slice(-1), spec, format),
    classes,
  };
}

/** How a dataset's records are read: their size, where the chosen label is, how many classes it has. */
interface RecordFormat {
  recordBytes: number;
  labelOffset: number;
  classes: number;
  title: string;
}

/** Images per class, indexed by label (`classes` of them: CIFAR-10's ten unless told). */
export function classCounts(split: Split, classes = NUM_CLASSES): number[] {
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < split.count; i++) counts[split.labels[i]]++;
  return counts;
}

/**
 * Checks sizes before reading anything big, and returns each file's record count. Any count is
 * accepted (small synthetic sets are valid datasets); where the real dataset's files all hold the
 * same number (CIFAR-10's), a file that disagrees is an error, as it is most likely truncated.
 */
async function checkRecordCounts(paths: string[], spec: DatasetSpec, format: RecordFormat): Promise<number[]> {
  const { recordBytes } = format;
  const sizes = await Promise.all(paths.map((path) => readExplained(path, spec, async (p) => (await stat(p)).size)));
  paths.forEach((path, i) => {
    if (sizes[i] === 0) throw new UserError(`${path}: file is empty`);
    if (sizes[i] % recordBytes !== 0) {
      throw new UserError(`${path}: size ${sizes[i]} bytes is not a multiple of the ${recordBytes}-byte ${spec.title} record (truncated file?)`);
    }
  });
  const counts = sizes.map((size) => size / recordBytes);
  if (spec.equalFiles) {
    paths.forEach((path, i) => {
      if (counts[i] !== counts[0]) {
        throw new UserError(
          `${path}: has ${counts[i]} records but ${paths[0]} has ${counts[0]}; ` +
            `all ${NUMBER_WORDS[spec.trainFiles.length] ?? spec.trainFiles.length} data batches and ${spec.testFile} must have the same number of records`,
        );
      }
    });
  }
  return counts;
}

const NUMBER_WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six'];

async function readSplit(paths: string[], counts: number[], spec: DatasetSpec, format: RecordFormat): Promise<Split> {
  const count = counts.reduce((a, b) => a + b, 0);
  const split: Split = { images: new Uint8Array(count * IMAGE_BYTES), labels: new Uint8Array(count), count };
  let first = 0;
  for (const [i, path] of paths.entries()) {
    decodeRecords(await readExplained(path, spec, (p) => readFile(p)), path, split, first, format);
    first += counts[i];
  }
  return split;
}

/** The chosen label byte → labels, R/G/B planes (after all label bytes) → interleaved NHWC pixels. */
function decodeRecords(bytes: Uint8Array, path: string, into: Split, first: number, format: RecordFormat): void {
  const { images, labels } = into;
  const { recordBytes, labelOffset, classes } = format;
  const pixels = IMAGE_SIZE * IMAGE_SIZE;
  for (let r = 0; r * recordBytes < bytes.length; r++) {
    const record = r * recordBytes;
    const label = bytes[record + labelOffset];
    if (label >= classes) throw new UserError(`${path}: record ${r} has label ${label}, expected 0-${classes - 1}`);
    labels[first + r] = label;
    const red = record + recordBytes - IMAGE_BYTES, green = red + pixels, blue = green + pixels;
    let out = (first + r) * IMAGE_BYTES;
    for (let p = 0; p < pixels; p++, out += CHANNELS) {
      images[out] = bytes[red + p];
      images[out + 1] = bytes[green + p];
      images[out + 2] = bytes[blue + p];
    }
  }
}

function parseClassNames(text: string, path: string, expected: number): string[] {
  const names = text.split('\n').map((line) => line.trim()).filter((line) => line !== '');
  if (names.length !== expected) {
    throw new UserError(`${path}: expected ${expected} class names, one per line, found ${names.length}`);
  }
  return names;
}

/** Runs `read(path)`, turning a missing file into a UserError that says how to get the dataset. */
async function readExplained<T>(path: string, spec: DatasetSpec, read: (path: string) => Promise<T>): Promise<T> {
  try {
    return await read(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const command = spec.name === 'cifar10' ? 'vit data download' : `vit data download --dataset ${spec.name}`;
    throw new UserError(`${path}: file not found (run \`${command}\` to fetch ${spec.title})`);
  }
}
