import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tar from 'tar';
import { UserError } from '../errors.js';
import { explainSystemError } from '../system-error.js';
import { removeTree, replaceDirAtomic, tempPathFor } from '../util/atomic.js';
import { makeDir } from '../util/make-dir.js';
import { CIFAR10, DATASETS, type DatasetName, type DatasetSpec, datasetFiles } from './datasets.js';
import { fetchToFile, offlineHint } from './fetch-archive.js';

/** CIFAR-10's archive and its md5 (datasets.ts has every dataset's). */
export const OFFICIAL_SOURCE = CIFAR10.url;
export const OFFICIAL_MD5 = CIFAR10.md5;

export interface DownloadOptions {
  /** An http(s) URL, a `file://` URL or a local path of the dataset's archive (e.g. cifar-10-binary.tar.gz). */
  source: string;
  md5: string;
  /** Which dataset the archive holds (default CIFAR-10). */
  dataset?: DatasetSpec;
  /** Replace an existing dataset. */
  force: boolean;
}

/**
 * Puts the dataset at `dataDir/<its directory>/` (CIFAR-10: `cifar-10-batches-bin/`) unless it is already there. The archive is
 * checked against `md5` and unpacked into a temp directory that is renamed into place only when
 * complete: a failed or interrupted attempt leaves no partial dataset, nor any temp file, nor a
 * `dataDir` that it created, and an existing dataset (with `force`) is replaced only by a complete new one.
 */
export async function downloadDataset(dataDir: string, options: DownloadOptions): Promise<{ path: string; downloaded: boolean }> {
  const spec = options.dataset ?? CIFAR10;
  const target = join(dataDir, spec.dir);
  if (!options.force && (await exists(target))) return { path: target, downloaded: false };
  const expectedMd5 = checkMd5Flag(options.md5);
  const localArchive = localPath(options.source);
  // The first directory mkdir made, if any: removed again when the download fails.
  const created = await makeDir(dataDir).catch((err) => {
    throw explainSystemError(err, { doing: `creating ${dataDir}`, intact: 'nothing was written', next: 'try again' });
  });
  // A local archive is read in place; a remote one goes to a temp file first.
  const archive = localArchive ?? tempPathFor(join(dataDir, spec.archive));
  const kept = options.force ? `the existing ${target} is unchanged` : 'nothing was kept';
  try {
    await fetchAndUnpack(options, spec, expectedMd5, localArchive, archive, target);
  } catch (err) {
    if (created) await removeTree(created);
    const doing = localArchive ? `unpacking ${options.source} into ${target}` : `downloading ${options.source} into ${dataDir}`;
    throw explainSystemError(err, { doing, intact: kept, next: 'try again' });
  }
  return { path: target, downloaded: true };
}

async function fetchAndUnpack(options: DownloadOptions, spec: DatasetSpec, expectedMd5: string, localArchive: string | null, archive: string, target: string): Promise<void> {
  await abortOnInterrupt(async (signal) => {
    try {
      const md5 = localArchive ? await md5OfFile(localArchive, signal) : await fetchToFile(options.source, archive, signal, offlineHint(spec));
      if (md5 !== expectedMd5) {
        const hint = localArchive
          ? `; if you trust this archive (e.g. a mirror), pass its checksum with --md5 ${md5}`
          : '; the download is corrupt, try again';
        throw new UserError(`${options.source}: md5 is ${md5}, expected ${expectedMd5}${hint}`);
      }
      await replaceDirAtomic(target, async (tmpDir) => {
        await extractDataset(archive, tmpDir, options.source, spec);
        signal.throwIfAborted();
      });
    } finally {
      if (!localArchive) await rm(archive, { force: true });
    }
  });
}

/** The dataset directory for `train`/`eval`, downloaded from the official source on first use. */
export async function ensureDataset(dataDir: string, dataset: DatasetName = 'cifar10'): Promise<string> {
  const spec = DATASETS[dataset];
  const target = join(dataDir, spec.dir);
  if (await exists(target)) return target;
  process.stderr.write(`${spec.title} is not in ${dataDir}/ yet: downloading it once (about ${spec.sizeMb} MB)\n`);
  return (await downloadDataset(dataDir, { source: spec.url, md5: spec.md5, force: false, dataset: spec })).path;
}

/** Unpacks the archive's entries under the dataset's directory (`cifar-10-batches-bin/`) straight into `into`. */
async function extractDataset(archive: string, into: string, source: string, spec: DatasetSpec): Promise<void> {
  try {
    await tar.x({ file: archive, cwd: into, strict: true, strip: 1, filter: (path) => path.startsWith(`${spec.dir}/`) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (!code.startsWith('Z_') && !code.startsWith('TAR_')) throw err;
    throw new UserError(`${source}: not a complete .tar.gz archive (${(err as Error).message})`);
  }
  const missing = [];
  for (const file of datasetFiles(spec)) if (!(await exists(join(into, file)))) missing.push(`${spec.dir}/${file}`);
  if (missing.length > 0) throw new UserError(`${source}: the archive lacks ${missing.join(', ')}; is it the ${spec.title} binary version?`);
}

/** A Ctrl-C during the download aborts it, so that the cleanup above runs before the process ends. */
async function abortOnInterrupt(work: (signal: AbortSignal) => Promise<void>): Promise<void> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  process.once('SIGINT', abort);
  try {
    await work(controller.signal);
  } catch (err) {
    if (controller.signal.aborted) throw new UserError('download interrupted; nothing was kept', 130);
    throw err;
  } finally {
    process.off('SIGINT', abort);
  }
}

async function md5OfFile(path: string, signal: AbortSignal): Promise<string> {
  const md5 = createHash('md5');
  try {
    for await (const chunk of createReadStream(path, { signal })) md5.update(chunk);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new UserError(`${path}: archive not found`);
    throw err;
  }
  return md5.digest('hex');
}

/** The file a `--source` names, or null for an http(s) URL. */
function localPath(source: string): string | null {
  if (/^https?:\/\//i.test(source)) return null;
  if (source.startsWith('file:')) return fileURLToPath(source);
  if (/^[a-z][a-z0-9+.-]+:\/\//i.test(source)) throw new UserError(`--source ${source}: expected an http(s) or file:// URL, or a path`);
  return source;
}

function checkMd5Flag(md5: string): string {
  if (!/^[0-9a-f]{32}$/i.test(md5)) throw new UserError(`--md5 ${md5}: expected 32 hexadecimal digits`);
  return md5.toLowerCase();
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Each of the datasets `names` lists, fetched once where missing (a sweep's trials may use several); unknown names are left to the config's own check. */
export async function ensureDatasets(dataDir: string, names: string[]): Promise<void> {
  for (const name of names) if (name in DATASETS) await ensureDataset(dataDir, name as DatasetName);
}
