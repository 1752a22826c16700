import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { SHARED_ARCHIVE, SHARED_MD5, vit } from './cli.js';

/**
 * A --data-dir holding the real CIFAR-10: the project's data/ when it has the dataset, else the
 * archive in ../shared extracted under `root`; null when neither is on this machine.
 */
export function realCifar10DataDir(root: string): string | null {
  if (existsSync(join('data', 'cifar-10-batches-bin', 'test_batch.bin'))) return 'data';
  if (!existsSync(SHARED_ARCHIVE)) return null;
  const dataDir = join(root, 'data');
  const download = vit(['data', 'download', '--source', SHARED_ARCHIVE, '--md5', SHARED_MD5, '--data-dir', dataDir]);
  assert.equal(download.code, 0, download.stderr);
  return dataDir;
}
