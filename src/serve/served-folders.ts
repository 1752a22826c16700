import { realpath, stat } from 'node:fs/promises';
import { basename, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { UserError } from '../errors.js';

/** One folder given to `vit serve`: the name it has in URLs and the real path everything must stay under. */
export interface ServedFolder {
  /** Its name in URLs and run ids: the folder's own name (`checkpoints`), made unique. */
  label: string;
  /** As the user gave it, for messages. */
  given: string;
  /** Its real path (symlinks resolved): every read must resolve to somewhere under it. */
  real: string;
}

export async function servedFolders(dirs: string[]): Promise<ServedFolder[]> {
  const folders: ServedFolder[] = [];
  for (const given of dirs) {
    let real: string;
    try {
      real = await realpath(given);
    } catch {
      throw new UserError(`${given}: not found (expected a folder of runs, such as checkpoints/)`);
    }
    if (!(await stat(real)).isDirectory()) throw new UserError(`${given}: not a folder (expected a folder of runs, such as checkpoints/)`);
    if (folders.some((f) => f.real === real)) continue;
    const name = basename(real) || 'root';
    let label = name;
    for (let i = 2; folders.some((f) => f.label === label); i++) label = `${name}-${i}`;
    folders.push({ label, given, real });
  }
  return folders;
}

/** True when `path` (already real) is `folder` or inside it. */
export function isInside(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

export class Refused extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

/**
 * The real path of the file a `/files/<label>/<path…>` request names, or a Refused error. The
 * path is taken from the raw request, before anything normalises it: a `..` or `.` segment, in
 * any spelling (`%2e%2e`, `%2E.`), a segment holding an encoded slash, backslash or NUL, and a
 * symlink that leads out of the served folders are all refused (403), whatever they point at.
 */
export async function resolveServedFile(folders: ServedFolder[], rawPath: string): Promise<string> {
  const segments = rawPath.split('/').filter((s, i) => i > 0 || s !== '');
  const decoded: string[] = [];
  for (const segment of segments) {
    let d: string;
    try {
      d = decodeURIComponent(segment);
    } catch {
      throw new Refused(`malformed path segment "${segment}"`, 400);
    }
    if (d === '..' || d === '.' || /[/\\\0]/.test(d)) throw new Refused('refused: the path leaves the served folders', 403);
    if (d !== '') decoded.push(d);
  }
  const [label, ...rest] = decoded;
  const folder = folders.find((f) => f.label === label);
  if (!folder || rest.length === 0) throw new Refused('not found', 404);
  const candidate = resolve(join(folder.real, ...rest));
  if (!isInside(candidate, folder.real)) throw new Refused('refused: the path leaves the served folders', 403);
  let real: string;
  try {
    real = await realpath(candidate);
  } catch {
    throw new Refused('not found', 404);
  }
  if (!folders.some((f) => isInside(real, f.real))) throw new Refused('refused: a link out of the served folders', 403);
  if (!(await stat(real)).isFile()) throw new Refused('not found', 404);
  return real;
}

/** `label/relative/path` of a real path inside one of the folders (run ids, sweep ids). */
export function servedName(folder: ServedFolder, real: string): string {
  const rel = relative(folder.real, real).split(sep).join('/');
  return rel ? `${folder.label}/${rel}` : folder.label;
}
