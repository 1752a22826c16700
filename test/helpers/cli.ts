import { spawn, spawnSync } from 'node:child_process';

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

/**
 * Runs the CLI from source and sends it Ctrl-C (SIGINT) once its output matches `when`, as a
 * user interrupting a run; resolves with its exit code and output once it has stopped.
 */
export async function vitInterrupted(args: string[], when: RegExp): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { env: { ...process.env, NO_COLOR: '1' } });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk) => {
    stdout += chunk;
    if (when.test(stdout) && !child.killed) child.kill('SIGINT');
  });
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  return { code, stdout, stderr };
}
