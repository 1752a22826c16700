import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

test('the install-time native build says in one line that it skipped, and why, and where the log is', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vit-native-build-'));
  try {
    const log = join(dir, 'build.log');
    // A PATH with node but without node-gyp: the build cannot start, and the install must go on.
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await symlink(process.execPath, join(bin, 'node'));
    const result = spawnSync(process.execPath, ['native/build.mjs'], {
      encoding: 'utf8',
      env: { ...process.env, PATH: bin, VIT_NATIVE_LOG: log, VIT_NATIVE_VERBOSE: '' },
    });
    assert.equal(result.status, 0);
    assert.equal(result.stderr, '');
    assert.equal(
      result.stdout,
      `vit: native kernels not built (node-gyp is not on PATH); training runs on tfjs-backend-wasm kernels alone (slower); details in ${log}\n`,
    );
    assert.equal(await readFile(log, 'utf8'), '');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
