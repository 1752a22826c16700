import { realpathSync } from 'node:fs';

/**
 * The command line that runs this same vit: this Node binary, its flags (e.g. a loader when vit
 * runs from source) and the CLI script, resolved through npm's bin link. A sweep's trials are
 * `<this> train …`, and its Slurm tasks `<this> sweep trial …`.
 */
export function vitCommand(): string[] {
  return [process.execPath, ...process.execArgv, realpathSync(process.argv[1])];
}
