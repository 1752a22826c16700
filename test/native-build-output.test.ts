import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';

const sudo = process.getuid?.() === 0 ? '' : 'sudo ';

/**
 * Runs native/build.mjs with a PATH that holds node alone (no compiler, make or python3), as on a
 * machine without build tools, and an /etc/os-release of our choosing.
 */
async function buildWithoutTools(osRelease: string): Promise<{ stdout: string; stderr: string; status: number | null; recorded: unknown }> {
  const dir = await mkdtemp(join(tmpdir(), 'vit-native-build-'));
  try {
    const bin = join(dir, 'bin');
    await mkdir(bin);
    await symlink(process.execPath, join(bin, 'node'));
    await writeFile(join(dir, 'os-release'), osRelease);
    const statusFile = join(dir, 'status.json');
    const result = spawnSync(process.execPath, ['native/build.mjs'], {
      encoding: 'utf8',
      env: { PATH: bin, VIT_NATIVE_LOG: join(dir, 'build.log'), VIT_NATIVE_STATUS: statusFile, VIT_OS_RELEASE: join(dir, 'os-release') },
    });
    return { stdout: result.stdout, stderr: result.stderr, status: result.status, recorded: JSON.parse(await readFile(statusFile, 'utf8')) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

test('without build tools, the install goes on and says in one line what is missing, what it costs and the command that fixes it', async () => {
  const { stdout, stderr, status, recorded } = await buildWithoutTools('ID=debian\nVERSION_ID="12"\n');
  assert.equal(status, 0);
  assert.equal(stderr, '');
  const fix = `${sudo}apt-get install -y g++ make python3 && npm run native`;
  const reason = 'no C++ compiler (g++ or clang++), no make, no python3 on PATH';
  assert.equal(stdout, `vit: native kernels not built (${reason}): CPU training will run about 25x slower; fix: ${fix}\n`);
  assert.deepEqual(recorded, { built: false, reason, fix });
});

test('the fix names the package manager of the distribution (ID_LIKE counts)', async () => {
  const fedora = await buildWithoutTools('ID=fedora\n');
  assert.match(fedora.stdout, new RegExp(`fix: ${sudo}dnf install -y gcc-c\\+\\+ make python3 && npm run native\\n$`));
  const mint = await buildWithoutTools('ID=linuxmint\nID_LIKE="ubuntu debian"\n');
  assert.match(mint.stdout, /apt-get install -y g\+\+ make python3/);
  const unknown = await buildWithoutTools('ID=plan9\n');
  assert.match(unknown.stdout, /fix: install a C\+\+ compiler, make and python3 && npm run native/);
});
