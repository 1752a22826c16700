import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import type { BackendProbe, ConcreteBackend } from './probe.js';
import { unavailableProbe } from './probe.js';

/** A probe never takes this long; a hung native library must not hang `vit`. */
const PROBE_TIMEOUT_MS = 60_000;

/**
 * Runs a backend's probe in a child process. Native libraries (Dawn, libtensorflow, the Vulkan
 * loader) write their own log lines straight to file descriptor 2, out of reach of anything in
 * JavaScript; in a child, those lines land in a pipe we read instead of the user's terminal, and
 * a crash in a driver becomes "unavailable" instead of taking vit down. The raw lines come back
 * as `nativeLog` for `vit backends --verbose`.
 */
export async function probeInChild(name: ConcreteBackend): Promise<BackendProbe> {
  const script = fileURLToPath(new URL(`./probe-child${extensionOf(import.meta.url)}`, import.meta.url));
  const child = spawn(process.execPath, [...loaderArgs(process.execArgv), script, name], {
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: PROBE_TIMEOUT_MS,
  });
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
  child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
    child.on('error', reject).on('close', (c, s) => resolve([c, s]));
  });
  const nativeLog = Buffer.concat(stderr).toString('utf8').split('\n').filter((l) => l.trim() !== '');
  const out = Buffer.concat(stdout).toString('utf8').trim().split('\n').at(-1) ?? '';
  if (code === 0 && out.startsWith('{')) return { ...(JSON.parse(out) as BackendProbe), nativeLog };
  const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
  return {
    ...unavailableProbe(name, `probing it ${how} (its native library crashed or hung)`, 'Run `vit backends --verbose` to see its own messages.'),
    nativeLog,
  };
}

/** True when `specifier` is installed: a backend whose package is absent needs no child to say so. */
export function isInstalled(specifier: string): boolean {
  try {
    createRequire(import.meta.url).resolve(specifier);
    return true;
  } catch {
    return false;
  }
}

/** '.ts' when running from source under tsx, '.js' from dist/. */
function extensionOf(url: string): string {
  return url.endsWith('.ts') ? '.ts' : '.js';
}

/** The flags that make this process load TypeScript (tsx) and friends; not --test and the like. */
export function loaderArgs(execArgv: readonly string[]): string[] {
  const kept: string[] = [];
  const withValue = ['--import', '--require', '-r', '--loader', '--experimental-loader'];
  for (let i = 0; i < execArgv.length; i++) {
    const arg = execArgv[i];
    if (withValue.includes(arg) && i + 1 < execArgv.length) kept.push(arg, execArgv[++i]);
    else if (withValue.some((flag) => arg.startsWith(`${flag}=`))) kept.push(arg);
  }
  return kept;
}
