import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { makeDir } from '../util/make-dir.js';

/**
 * Creates a fresh run directory `<root>/<name>`, or `<name>-2`, `<name>-3`, … when taken: a new
 * run never writes into (and so never overwrites) an earlier run's checkpoints.
 */
export async function createRunDir(root: string, name: string): Promise<string> {
  await makeDir(root);
  for (let i = 1; ; i++) {
    const dir = join(root, i === 1 ? name : `${name}-${i}`);
    try {
      await mkdir(dir); // not recursive: fails if it exists, which is the point
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
}
