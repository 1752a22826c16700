import { Command, Option } from 'commander';
import { join } from 'node:path';
import { classCounts, loadDataset } from '../data/cifar10.js';
import { DATASET_NAMES, DATASETS, type DatasetName, LABEL_KINDS, type LabelKind, describeChoice } from '../data/datasets.js';
import { downloadDataset } from '../data/download.js';
import { UserError } from '../errors.js';
import { runAction } from './run-action.js';

interface DownloadFlags {
  dataDir: string;
  dataset: DatasetName;
  source?: string;
  md5?: string;
  force: boolean;
}

const datasetOption = () => new Option('--dataset <name>', 'which dataset (data.dataset)').choices(DATASET_NAMES).default('cifar10');

export function dataCommand(): Command {
  const data = new Command('data').description('Get a dataset (CIFAR-10, CIFAR-100) and inspect it');

  data
    .command('download')
    .description(`Download a dataset's binary version, check its md5 and unpack it to DIR/ (CIFAR-10: ${DATASETS.cifar10.dir}/, CIFAR-100: ${DATASETS.cifar100.dir}/)`)
    .option('--data-dir <dir>', 'directory that holds the dataset', 'data')
    .addOption(datasetOption())
    .option('--source <url|path>', `http(s) URL, file:// URL or local path of the archive (default: the official one, e.g. ${DATASETS.cifar10.url})`)
    .option('--md5 <hex>', "expected md5 of the archive (default: the official archive's)")
    .option('--force', 'download again even if the dataset is already there', false)
    .addHelpText(
      'after',
      '\nOffline? Copy the archive here by other means, then:\n' +
        '  vit data download --source /path/to/cifar-10-binary.tar.gz --md5 <its md5>\n' +
        '  vit data download --dataset cifar100 --source /path/to/cifar-100-binary.tar.gz --md5 <its md5>',
    )
    .action(
      runAction(async (flags: DownloadFlags) => {
        const spec = DATASETS[flags.dataset];
        const options = { source: flags.source ?? spec.url, md5: flags.md5 ?? spec.md5, force: flags.force, dataset: spec };
        const { path, downloaded } = await downloadDataset(flags.dataDir, options);
        console.log(downloaded ? `${spec.title} is ready in ${path}` : `${spec.title} is already in ${path} (--force downloads it again)`);
      }),
    );

  data
    .command('info')
    .description('Count the images per split and per class')
    .option('--data-dir <dir>', 'directory that holds the dataset', 'data')
    .addOption(datasetOption())
    .addOption(new Option('--labels <kind>', "CIFAR-100's labels: the 100 fine classes or the 20 coarse superclasses (data.labels)").choices(LABEL_KINDS).default('fine'))
    .action(
      runAction(async (flags: { dataDir: string; dataset: DatasetName; labels: LabelKind }) => {
        const choice = { dataset: flags.dataset, labels: flags.labels };
        const spec = DATASETS[flags.dataset];
        if (!spec.labels[flags.labels]) throw new UserError(`--labels ${flags.labels}: ${spec.title} has only ${Object.keys(spec.labels).join(', ')} labels`);
        const path = join(flags.dataDir, spec.dir);
        const { train, test, classes } = await loadDataset(path, choice);
        const [trainCounts, testCounts] = [classCounts(train, classes.length), classCounts(test, classes.length)];
        const rows = [
          ['class', 'train', 'test'],
          ...classes.map((name, label) => [name, String(trainCounts[label]), String(testCounts[label])]),
          ['total', String(train.count), String(test.count)],
        ];
        const width = Math.max(12, ...classes.map((name) => name.length + 2));
        console.log(`${describeChoice(choice)} in ${path}`);
        for (const [name, ...counts] of rows) console.log(name.padEnd(width) + counts.map((n) => n.padStart(8)).join(''));
      }),
    );

  return data;
}
