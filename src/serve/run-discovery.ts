import type { Dirent } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type ServedFolder, isInside, servedName } from './served-folders.js';

/** A run folder (what `vit train` writes: config.json, metrics.csv, last/, best/). */
export interface FoundRun {
  id: string;
  /** Real path. */
  dir: string;
  /** The sweep it is a trial of, if any. */
  sweep: string | null;
}

/** A folder holding sweep.json, whose trials are run folders under it. */
export interface FoundSweep {
  id: string;
  dir: string;
}

export interface Discovery {
  runs: FoundRun[];
  sweeps: FoundSweep[];
  /** The folders looked through that are not runs: where a new run or trial would appear. */
  containers: string[];
}

/** Deep enough for checkpoints/RUN and sweeps/NAME/trials/NNN, with room for a folder of those. */
const MAX_DEPTH = 5;

/**
 * Finds the runs and sweeps under the served folders. Hidden entries (`.name`: the temp folders of
 * atomic writes) are skipped; a symlink is followed only where it stays inside a served folder;
 * a run folder's own subfolders (best/, last/) are not looked into.
 */
export async function discover(folders: ServedFolder[]): Promise<Discovery> {
  const found: Discovery = { runs: [], sweeps: [], containers: [] };
  const seen = new Set<string>();
  const visit = async (folder: ServedFolder, dir: string, depth: number, sweep: string | null): Promise<void> => {
    if (seen.has(dir)) return;
    seen.add(dir);
    let entries: Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch {
      return;
    }
    const names = new Set(entries.map((e) => e.name));
    if (names.has('config.json') && (names.has('metrics.csv') || names.has('last') || names.has('best'))) {
      found.runs.push({ id: servedName(folder, dir), dir, sweep });
      return;
    }
    found.containers.push(dir);
    if (names.has('sweep.json')) {
      sweep = servedName(folder, dir);
      found.sweeps.push({ id: sweep, dir });
    }
    if (depth >= MAX_DEPTH) return;
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await visit(folder, path, depth + 1, sweep);
      else if (entry.isSymbolicLink()) {
        const real = await realpath(path).catch(() => null);
        if (real && isInside(real, folder.real) && (await stat(real)).isDirectory()) await visit(folder, real, depth + 1, sweep);
      }
    }
  };
  for (const folder of folders) await visit(folder, folder.real, 0, null);
  return found;
}
