// Builds the optional native kernels (vit_native.cc) at install time. It never fails the install:
// without a compiler or Node's headers, vit runs on tfjs-backend-wasm's own kernels (slower).
// node-gyp comes with npm (on PATH inside npm scripts); it uses the running Node's own headers
// when they are installed next to it, so the build needs no network.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

const prefix = dirname(dirname(process.execPath));
const localHeaders = existsSync(join(prefix, 'include', 'node', 'node_api.h'));
const args = ['rebuild', '--directory', 'native', ...(localHeaders ? [`--nodedir=${prefix}`] : [])];
const build = spawnSync('node-gyp', args, { stdio: 'inherit', shell: process.platform === 'win32' });
if (build.status !== 0) {
  console.warn('vit: the native kernels were not built; training runs on tfjs-backend-wasm kernels alone (slower)');
}
