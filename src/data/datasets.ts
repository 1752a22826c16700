/**
 * The datasets `vit` trains on, each described once: where its binary archive comes from, the
 * files it unpacks to, how a record is laid out and what its labels are called. The loader
 * (cifar10.ts), the downloader (download.ts), the config (data.dataset, data.labels) and every
 * table or picture that names classes read it from here. Both are Alex Krizhevsky's binary
 * versions (https://www.cs.toronto.edu/~kriz/cifar.html): records of label byte(s) followed by
 * the red, green and blue planes of a 32×32 image.
 */

export const DATASET_NAMES = ['cifar10', 'cifar100'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];
export const LABEL_KINDS = ['fine', 'coarse'] as const;
export type LabelKind = (typeof LABEL_KINDS)[number];

/** One way of labelling the images: which byte of a record holds the label, and the class names. */
export interface LabelSet {
  /** Offset of this label's byte in a record (the image follows all the label bytes). */
  offset: number;
  /** The text file of the archive that lists the class names, one per line, by label. */
  namesFile: string;
  /** The same names, for a model used without the dataset at hand (predict, export, serve). */
  names: readonly string[];
}

export interface DatasetSpec {
  name: DatasetName;
  /** As people write it: 'CIFAR-10'. */
  title: string;
  url: string;
  /** md5 of the archive at `url`, as the dataset's page lists it. */
  md5: string;
  /** The archive's file name, and its size for the "downloading it once" note. */
  archive: string;
  sizeMb: number;
  /** The directory the archive holds, which is unpacked under data_dir as it is. */
  dir: string;
  trainFiles: readonly string[];
  testFile: string;
  /** Label bytes at the start of every record. */
  labelBytes: number;
  /** The dataset's label sets; CIFAR-10 has only 'fine' (its ten classes). */
  labels: Partial<Record<LabelKind, LabelSet>>;
  /**
   * Whether every data file holds the same number of records (CIFAR-10's six hold 10,000 each):
   * then a file that disagrees is reported as truncated.
   */
  equalFiles: boolean;
}

const CIFAR10_NAMES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'];

/** CIFAR-100's 100 classes, by fine label (fine_label_names.txt). */
const CIFAR100_FINE = [
  'apple', 'aquarium_fish', 'baby', 'bear', 'beaver', 'bed', 'bee', 'beetle', 'bicycle', 'bottle',
  'bowl', 'boy', 'bridge', 'bus', 'butterfly', 'camel', 'can', 'castle', 'caterpillar', 'cattle',
  'chair', 'chimpanzee', 'clock', 'cloud', 'cockroach', 'couch', 'crab', 'crocodile', 'cup', 'dinosaur',
  'dolphin', 'elephant', 'flatfish', 'forest', 'fox', 'girl', 'hamster', 'house', 'kangaroo', 'keyboard',
  'lamp', 'lawn_mower', 'leopard', 'lion', 'lizard', 'lobster', 'man', 'maple_tree', 'motorcycle', 'mountain',
  'mouse', 'mushroom', 'oak_tree', 'orange', 'orchid', 'otter', 'palm_tree', 'pear', 'pickup_truck', 'pine_tree',
  'plain', 'plate', 'poppy', 'porcupine', 'possum', 'rabbit', 'raccoon', 'ray', 'road', 'rocket',
  'rose', 'sea', 'seal', 'shark', 'shrew', 'skunk', 'skyscraper', 'snail', 'snake', 'spider',
  'squirrel', 'streetcar', 'sunflower', 'sweet_pepper', 'table', 'tank', 'telephone', 'television', 'tiger', 'tractor',
  'train', 'trout', 'tulip', 'turtle', 'wardrobe', 'whale', 'willow_tree', 'wolf', 'woman', 'worm',
];

/** CIFAR-100's 20 superclasses, by coarse label (coarse_label_names.txt). */
const CIFAR100_COARSE = [
  'aquatic_mammals', 'fish', 'flowers', 'food_containers', 'fruit_and_vegetables',
  'household_electrical_devices', 'household_furniture', 'insects', 'large_carnivores', 'large_man-made_outdoor_things',
  'large_natural_outdoor_scenes', 'large_omnivores_and_herbivores', 'medium_mammals', 'non-insect_invertebrates', 'people',
  'reptiles', 'small_mammals', 'trees', 'vehicles_1', 'vehicles_2',
];

export const CIFAR10: DatasetSpec = {
  name: 'cifar10',
  title: 'CIFAR-10',
  url: 'https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz',
  md5: 'c32a1d4ab5d03f1284b67883e8d87530',
  archive: 'cifar-10-binary.tar.gz',
  sizeMb: 170,
  dir: 'cifar-10-batches-bin',
  trainFiles: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`),
  testFile: 'test_batch.bin',
  labelBytes: 1,
  labels: { fine: { offset: 0, namesFile: 'batches.meta.txt', names: CIFAR10_NAMES } },
  equalFiles: true,
};

/** Each record: coarse label byte, fine label byte, 3,072 image bytes; 50,000 train and 10,000 test records. */
export const CIFAR100: DatasetSpec = {
  name: 'cifar100',
  title: 'CIFAR-100',
  url: 'https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz',
  md5: '03b5dce01913d631647c71ecec9e9cb8',
  archive: 'cifar-100-binary.tar.gz',
  sizeMb: 161,
  dir: 'cifar-100-binary',
  trainFiles: ['train.bin'],
  testFile: 'test.bin',
  labelBytes: 2,
  labels: {
    coarse: { offset: 0, namesFile: 'coarse_label_names.txt', names: CIFAR100_COARSE },
    fine: { offset: 1, namesFile: 'fine_label_names.txt', names: CIFAR100_FINE },
  },
  equalFiles: false,
};

export const DATASETS: Record<DatasetName, DatasetSpec> = { cifar10: CIFAR10, cifar100: CIFAR100 };

/** Every file the unpacked directory must hold: the data files, then the label names files. */
export function datasetFiles(spec: DatasetSpec): string[] {
  return [...spec.trainFiles, spec.testFile, ...Object.values(spec.labels).map((l) => l.namesFile)];
}

/** The data config's choice (data.dataset, data.labels). */
export interface DatasetChoice {
  dataset: DatasetName;
  labels: LabelKind;
}

/** The label set a choice names, or null where the dataset has none of that kind (CIFAR-10's 'coarse'). */
export function labelSetOf(choice: DatasetChoice): LabelSet | null {
  return DATASETS[choice.dataset].labels[choice.labels] ?? null;
}

/** Number of classes of a (valid) choice: 10, 100 or 20. */
export function numClassesOf(choice: DatasetChoice): number {
  const set = labelSetOf(choice);
  if (!set) throw new Error(`${choice.dataset} has no ${choice.labels} labels`);
  return set.names.length;
}

/** 'CIFAR-100 (coarse labels)', or just 'CIFAR-10' for a dataset with one label set. */
export function describeChoice(choice: DatasetChoice): string {
  const spec = DATASETS[choice.dataset];
  return Object.keys(spec.labels).length > 1 ? `${spec.title} (${choice.labels} labels)` : spec.title;
}

/**
 * The class names of a model with `count` outputs when all we know is the count (an ONNX file
 * without names): the label set of that size, else `class i`.
 */
export function classNamesForCount(count: number): string[] {
  const set = Object.values(DATASETS).flatMap((d) => Object.values(d.labels)).find((l) => l.names.length === count);
  return set ? [...set.names] : Array.from({ length: count }, (_, i) => `class ${i}`);
}

/** The class names of a model with `count` outputs trained on `choice`: its label set's, unless the count differs. */
export function classNamesOf(choice: DatasetChoice, count: number): string[] {
  const set = labelSetOf(choice);
  return set?.names.length === count ? [...set.names] : classNamesForCount(count);
}
