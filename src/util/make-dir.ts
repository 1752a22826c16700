import { access, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * `mkdir -p`: returns the first directory it created (undefined if all existed). Node's recursive
 * mkdir reports a read-only file system (and other refusals) as ENOENT; then the first missing
 * directory is made on its own, so the error that surfaces is the real one (EROFS, EACCES, …).
 */
export async function makeDir(path: string): Promise<string | undefined> {
  try {
    return await mkdir(path, { recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    await mkdir(await firstMissing(path));
    throw err;
  }
}

/** The outermost directory of `path` that does not exist yet. */
async function firstMissing(path: string): Promise<string> {
  let missing = path;
  for (let parent = dirname(missing); parent !== missing; parent = dirname(missing)) {
    const exists = await access(parent).then(
      () => true,
      () => false,
    );
    if (exists) break;
    missing = parent;
  }
  return missing;
}
