import { Command } from 'commander';
import { join } from 'node:path';
import { classCounts, DATASET_DIR, loadCifar10 } from '../data/cifar10.js';
import { downloadDataset, OFFICIAL_MD5, OFFICIAL_SOURCE } from '../data/download.js';
import { runAction } from './run-action.js';

interface DownloadFlags {
  dataDir: string;
  source: string;
  md5: string;
  force: boolean;
}

export function dataCommand(): Command {
  const data = new Command('data').description('Get the CIFAR-10 dataset and inspect it');

  data
    .command('download')
    .description(`Download CIFAR-10 (binary version), check its md5 and unpack it to DIR/${DATASET_DIR}/`)
    .option('--data-dir <dir>', 'directory that holds the dataset', 'data')
    .option('--source <url|path>', 'http(s) URL, file:// URL or local path of cifar-10-binary.tar.gz', OFFICIAL_SOURCE)
    .option('--md5 <hex>', 'expected md5 of the archive', OFFICIAL_MD5)
    .option('--force', 'download again even if the dataset is already there', false)
    .addHelpText(
      'after',
      '\nOffline? Copy cifar-10-binary.tar.gz here by other means, then:\n' +
        '  vit data download --source /path/to/cifar-10-binary.tar.gz --md5 <its md5>',
    )
    .action(
      runAction(async (flags: DownloadFlags) => {
        const { path, downloaded } = await downloadDataset(flags.dataDir, flags);
        console.log(downloaded ? `CIFAR-10 is ready in ${path}` : `CIFAR-10 is already in ${path} (--force downloads it again)`);
      }),
    );

  data
    .command('info')
    .description('Count the images per split and per class')
    .option('--data-dir <dir>', 'directory that holds the dataset', 'data')
    .action(
      runAction(async (flags: { dataDir: string }) => {
        const path = join(flags.dataDir, DATASET_DIR);
        const { train, test, classes } = await loadCifar10(path);
        const [trainCounts, testCounts] = [classCounts(train), classCounts(test)];
        const rows = [
          ['class', 'train', 'test'],
          ...classes.map((name, label) => [name, String(trainCounts[label]), String(testCounts[label])]),
          ['total', String(train.count), String(test.count)],
        ];
        console.log(`CIFAR-10 in ${path}`);
        for (const [name, ...counts] of rows) console.log(name.padEnd(12) + counts.map((n) => n.padStart(8)).join(''));
      }),
    );

  return data;
}
