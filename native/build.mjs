// Builds the native kernels (native/src) at install time (`npm ci`), or again with `npm run
// native`. It never fails the install: without a compiler or Node's headers, vit runs on
// tfjs-backend-wasm's own kernels (much slower, and vit says so whenever it trains).
// The kernels need no system library: the matrix products are vit's own (native/src/gemm.cc).
// node-gyp comes with npm (on PATH inside npm scripts); it uses the running Node's own headers
// when they are installed next to it, so the build needs no network.
//
// It prints one line: built and what it computes with, or not built, why and what fixes it.
// node-gyp's own output goes to native/build.log (or VIT_NATIVE_LOG); VIT_NATIVE_VERBOSE=1 shows it
// as it happens instead. native/build-status.json (or VIT_NATIVE_STATUS) records the outcome and
// the fix, for the line vit prints whenever it runs without these kernels.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const logPath = process.env.VIT_NATIVE_LOG || join(here, 'build.log');
const statusPath = process.env.VIT_NATIVE_STATUS || join(here, 'build-status.json');
const addonPath = join(here, 'build', 'Release', 'vit_native.node');
const verbose = /^(1|true|yes)$/i.test(process.env.VIT_NATIVE_VERBOSE ?? '');

const missing = missingTools();
if (missing.length > 0) {
  finish(false, `no ${missing.join(', no ')} on PATH`, `${buildToolsFix()} && npm run native`);
} else {
  const prefix = dirname(dirname(process.execPath));
  const localHeaders = existsSync(join(prefix, 'include', 'node', 'node_api.h'));
  const args = ['rebuild', '--directory', here, ...(localHeaders ? [`--nodedir=${prefix}`] : [])];
  const gyp = nodeGyp();
  const build = spawnSync(gyp.command, [...gyp.args, ...args], {
    stdio: verbose ? 'inherit' : ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    shell: process.platform === 'win32',
  });
  const log = `${build.stdout ?? ''}${build.stderr ?? ''}`;
  if (!verbose) writeFileSync(logPath, log);
  if (build.status === 0) finish(true, '', null);
  else if (build.error?.code === 'ENOENT') finish(false, 'node-gyp is not on PATH', 'npm run native');
  else finish(false, `${firstError(log) ?? `node-gyp exited with ${build.status}`}; details in ${logPath}`, 'npm run native');
}

/**
 * Records the outcome and prints the one line. The slowdown is the one src/backend/native/addon.ts
 * states (configs/cpu-1h.json, plain wasm against the native kernels, docs/performance.md).
 */
function finish(built, reason, fix) {
  writeFileSync(statusPath, `${JSON.stringify({ built, reason, fix })}\n`);
  if (!built) {
    console.log(`vit: native kernels not built (${reason}): CPU training will run about 25x slower; fix: ${fix}`);
    return;
  }
  try {
    const { gemm, threads, gemmFallback } = createRequire(import.meta.url)(addonPath).info();
    const note = gemmFallback ? `; ${gemmFallback}, so vit's own GEMM runs` : '';
    console.log(`vit: built the native kernels (${gemm}, ${threads} threads)${note}`);
  } catch (err) {
    console.log(`vit: built the native kernels, but they do not load (${String(err.message).split('\n')[0]})`);
  }
}

/** The build tools node-gyp needs that are not on PATH (a C++ compiler, make, Python 3). */
function missingTools() {
  if (process.platform === 'win32') return [];
  const onPath = (name) => (process.env.PATH ?? '').split(delimiter).some((dir) => dir && existsSync(join(dir, name)));
  const missing = [];
  if (!(process.env.CXX || ['c++', 'g++', 'clang++'].some(onPath))) missing.push('C++ compiler (g++ or clang++)');
  if (!onPath('make')) missing.push('make');
  if (!(process.env.PYTHON || ['python3', 'python'].some(onPath))) missing.push('python3');
  return missing;
}

/** The command that installs a C++ compiler, make and Python 3 on this OS. */
function buildToolsFix() {
  if (process.platform === 'darwin') return 'xcode-select --install';
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  let release = '';
  try {
    release = readFileSync(process.env.VIT_OS_RELEASE || '/etc/os-release', 'utf8');
  } catch {}
  const field = (name) => release.match(new RegExp(`^${name}="?([^"\\n]*)"?`, 'm'))?.[1] ?? '';
  const ids = `${field('ID')} ${field('ID_LIKE')}`.split(/\s+/);
  if (ids.some((id) => id === 'debian' || id === 'ubuntu')) return `${sudo}apt-get install -y g++ make python3`;
  if (ids.some((id) => id === 'fedora' || id === 'rhel' || id === 'centos')) return `${sudo}dnf install -y gcc-c++ make python3`;
  if (ids.includes('arch')) return `${sudo}pacman -S --needed gcc make python`;
  if (ids.includes('alpine')) return `${sudo}apk add g++ make python3`;
  if (ids.some((id) => id.includes('suse'))) return `${sudo}zypper install -y gcc-c++ make python3`;
  return 'install a C++ compiler, make and python3';
}

/** node-gyp from PATH (npm puts its own there inside scripts), else the copy that ships with npm. */
function nodeGyp() {
  if (process.env.npm_config_node_gyp) return { command: process.execPath, args: [process.env.npm_config_node_gyp] };
  const bundled = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
  return existsSync(bundled) ? { command: process.execPath, args: [bundled] } : { command: 'node-gyp', args: [] };
}

/** The first line that says what went wrong: a compiler error, or node-gyp's own verdict. */
function firstError(text) {
  const lines = text.split('\n').map((l) => l.trim());
  const compiler = lines.find((l) => /\berror\b:/i.test(l) && !l.startsWith('gyp'));
  const gyp = lines.find((l) => /^gyp ERR! (stack )?Error:/.test(l));
  return (compiler ?? gyp)?.replace(/^gyp ERR! (stack )?/, '').slice(0, 200);
}
