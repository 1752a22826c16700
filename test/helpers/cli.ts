import { spawnSync } from 'node:child_process';

/** Runs the CLI from source (no build needed), as a user would, and captures its output. */
export function vit(args: string[], env: Record<string, string> = {}) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', ...env },
    timeout: 10 * 60 * 1000,
  });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

export const SHARED_ARCHIVE = '../shared/cifar10/cifar-10-binary.tar.gz';
export const SHARED_MD5 = 'fbab889ccb056eb351bc3399edab6335';
