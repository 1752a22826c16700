import { randomBytes } from 'node:crypto';
import { access, mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { explainSystemError } from '../system-error.js';
import { makeDir } from './make-dir.js';

/** A sibling temp path (same directory, so the final rename is atomic on one filesystem). */
export function tempPathFor(path: string): string {
  return join(dirname(path), `${tempPrefix(path)}${process.pid}-${randomBytes(4).toString('hex')}`);
}

function tempPrefix(path: string): string {
  return `.${basename(path)}.tmp-`;
}

/** Where replaceDirAtomic parks the previous directory while it swaps the new one in. */
const ASIDE_SUFFIX = '.old';

/**
 * Writes a file and flushes it to the disk (fsync), so that a rename published after it never
 * points at data still in the page cache when the power goes.
 */
export async function writeFileDurable(path: string, data: string | Uint8Array): Promise<void> {
  const fh = await open(path, 'w');
  try {
    await fh.writeFile(data);
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * Flushes a directory's entries (the names a rename created) to the disk. Some platforms
 * (Windows) cannot open a directory for that; there the rename's own guarantees are all we have.
 */
export async function syncDir(dir: string): Promise<void> {
  let fh;
  try {
    fh = await open(dir, 'r');
  } catch {
    return;
  }
  try {
    await fh.sync();
  } catch (err) {
    if (!['EISDIR', 'EINVAL', 'EPERM', 'EBADF'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
  } finally {
    await fh.close();
  }
}

/** fsyncs every file and directory under `dir` (and `dir`), whoever wrote them (tar, writeFile). */
async function syncTree(dir: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) await syncTree(path);
    else if (entry.isFile()) {
      const fh = await open(path, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    }
  }
  await syncDir(dir);
}

/**
 * Writes a file so that readers see either the old content or the new, never a torn file:
 * write a temp file beside it, fsync, rename over, fsync the directory.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await makeDir(dirname(path));
  const tmp = tempPathFor(path);
  try {
    await writeFileDurable(tmp, data);
    await rename(tmp, path);
  } catch (err) {
    await rm(tmp, { force: true });
    throw explainSystemError(err, { doing: `writing ${path}`, intact: 'any previous version of it is unchanged' });
  }
  await syncDir(dirname(path));
}

/**
 * Fills a fresh temp directory with `fill`, flushes everything in it to the disk, then swaps it
 * into `path`: a crash at any point leaves either the previous directory or the complete new
 * one. The previous one is removed only after the new one is in place (rename old aside, rename
 * new in, delete old). A crash between the two renames leaves only the aside copy: readers find it
 * with readableDir(), and the next replaceDirAtomic of `path` puts it back first.
 */
export async function replaceDirAtomic(path: string, fill: (tmpDir: string) => Promise<void>): Promise<void> {
  await makeDir(dirname(path));
  await recoverInterruptedSwap(path);
  const tmp = tempPathFor(path);
  const aside = tempPathFor(path) + ASIDE_SUFFIX;
  try {
    await mkdir(tmp);
    await fill(tmp);
    await syncTree(tmp);
  } catch (err) {
    await removeTree(tmp);
    throw err;
  }
  let hadOld = true;
  try {
    await rename(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    hadOld = false;
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
  if (hadOld) await rm(aside, { recursive: true, force: true });
}

/**
 * `path`, or when a crash in replaceDirAtomic's swap left only the previous copy aside, that copy.
 * For readers: nothing is renamed.
 */
export async function readableDir(path: string): Promise<string> {
  if (await exists(path)) return path;
  return (await asideCopies(path))[0] ?? path;
}

/** Puts back the copy an interrupted swap left aside (and drops any older leftovers). */
async function recoverInterruptedSwap(path: string): Promise<void> {
  const [newest, ...older] = await asideCopies(path);
  if (newest && !(await exists(path))) await rename(newest, path);
  else if (newest) older.unshift(newest);
  for (const stale of older) await rm(stale, { recursive: true, force: true });
}

/** Copies of `path` set aside by replaceDirAtomic; at most one, since every swap recovers first. */
async function asideCopies(path: string): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch {
    return [];
  }
  return names
    .filter((n) => n.startsWith(tempPrefix(path)) && n.endsWith(ASIDE_SUFFIX))
    .map((n) => join(dirname(path), n));
}

/**
 * Removes a directory that a failed writer may still be adding to: tar's extraction rejects on its
 * first error while other file writes are in flight, so a plain rm can meet ENOTEMPTY; retry it.
 */
export async function removeTree(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
