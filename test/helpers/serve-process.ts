import { type ChildProcess, spawn } from 'node:child_process';

export interface ServeProcess {
  url: string;
  /** Everything it has printed so far. */
  stdout(): string;
  stderr(): string;
  /** Ctrl-C, as a user stops it; resolves with its exit code. */
  stop(): Promise<number | null>;
}

/** Starts `vit serve ARGS…` from source, as a user would, and waits for the line with its URL. */
export async function startServe(args: string[], env: Record<string, string> = {}): Promise<ServeProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'serve', ...args], { env: { ...process.env, NO_COLOR: '1', ...env } });
  let out = '';
  let err = '';
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => {
      out += chunk;
      const match = /http:\/\/\S+\//.exec(out);
      if (match) resolve(match[0]);
    });
    void exited.then((code) => reject(new Error(`vit serve exited with ${code} before printing its URL: ${err}`)));
  });
  return {
    url,
    stdout: () => out,
    stderr: () => err,
    async stop() {
      child.kill('SIGINT');
      return exited;
    },
  };
}
