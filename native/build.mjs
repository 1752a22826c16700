// Builds the optional native kernels (vit_native.cc) at install time. It never fails the install:
// without a compiler or Node's headers, vit runs on tfjs-backend-wasm's own kernels (slower).
// node-gyp comes with npm (on PATH inside npm scripts); it uses the running Node's own headers
// when they are installed next to it, so the build needs no network.
//
// It prints one line: built, or not built and why. node-gyp's own output (~60 lines) goes to
// native/build.log (or VIT_NATIVE_LOG); VIT_NATIVE_VERBOSE=1 shows it as it happens instead.
import { spawnSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const logPath = process.env.VIT_NATIVE_LOG || join(here, 'build.log');
const verbose = /^(1|true|yes)$/i.test(process.env.VIT_NATIVE_VERBOSE ?? '');

const prefix = dirname(dirname(process.execPath));
const localHeaders = existsSync(join(prefix, 'include', 'node', 'node_api.h'));
const args = ['rebuild', '--directory', here, ...(localHeaders ? [`--nodedir=${prefix}`] : [])];
const build = spawnSync('node-gyp', args, {
  stdio: verbose ? 'inherit' : ['ignore', 'pipe', 'pipe'],
  encoding: 'utf8',
  shell: process.platform === 'win32',
});
const log = `${build.stdout ?? ''}${build.stderr ?? ''}`;
if (!verbose) writeFileSync(logPath, log);

if (build.status === 0) {
  console.log('vit: built the native kernels (native/build/Release/vit_native.node)');
} else {
  const why = build.error?.code === 'ENOENT' ? 'node-gyp is not on PATH' : firstError(log) ?? `node-gyp exited with ${build.status}`;
  const details = verbose ? '' : `; details in ${logPath}`;
  console.log(`vit: native kernels not built (${why}); training runs on tfjs-backend-wasm kernels alone (slower)${details}`);
}

/** The first line that says what went wrong: a compiler error, or node-gyp's own verdict. */
function firstError(text) {
  const lines = text.split('\n').map((l) => l.trim());
  const compiler = lines.find((l) => /\berror\b:/i.test(l) && !l.startsWith('gyp'));
  const gyp = lines.find((l) => /^gyp ERR! (stack )?Error:/.test(l));
  return (compiler ?? gyp)?.replace(/^gyp ERR! (stack )?/, '').slice(0, 200);
}
