import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

/**
 * scripts/setup.sh (the README's set-up step) on a make-believe machine: a PATH with only the
 * tools it may use, and stand-ins for id, sudo, dpkg-query and apt-get that record what they are
 * asked and "install" packages into a list. Nothing on this machine is installed or changed.
 */
const REAL_TOOLS = ['bash', 'env', 'awk', 'grep', 'sed', 'tail', 'tee', 'uname', 'cat'];
const dirs: string[] = [];
after(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

interface Machine {
  dir: string;
  run(args?: string[]): { code: number | null; stdout: string; stderr: string };
  calls(): Promise<string[]>;
}

async function machine(opts: { os: string; uid?: number; sudo?: boolean; tools?: string[]; installed?: string[] }): Promise<Machine> {
  const dir = await mkdtemp(join(tmpdir(), 'vit-setup-'));
  dirs.push(dir);
  const bin = join(dir, 'bin');
  await mkdir(bin);
  for (const tool of REAL_TOOLS) {
    const path = ['/usr/bin', '/bin'].map((d) => join(d, tool)).find((p) => existsSync(p));
    if (path) await symlink(path, join(bin, tool));
  }
  const script = async (name: string, body: string) => {
    await writeFile(join(bin, name), `#!/bin/bash\n${body}\n`);
    await chmod(join(bin, name), 0o755);
  };
  const installed = join(dir, 'installed');
  const calls = join(dir, 'calls');
  await writeFile(installed, (opts.installed ?? []).map((p) => `${p}\n`).join(''));
  await writeFile(calls, '');
  for (const tool of opts.tools ?? ['g++', 'make', 'python3']) await script(tool, 'exit 0');
  await script('id', `echo ${opts.uid ?? 0}`);
  if (opts.sudo) await script('sudo', `echo "sudo $*" >> ${calls}; "$@"`);
  await script('dpkg-query', `pkg="\${@: -1}"; grep -qx "$pkg" ${installed} || exit 1; case "$2" in *Status*) echo "install ok installed" ;; *) echo 25.2.0 ;; esac`);
  await script('dpkg', 'exit 0');
  // apt-get install "installs" its package arguments, and makes g++ a command once installed.
  await script(
    'apt-get',
    `echo "apt-get $*" >> ${calls}; [ "$1" = install ] || exit 0; for a in "$@"; do case "$a" in -*|install) ;; *) echo "$a" >> ${installed}; [ "$a" = g++ ] && printf '#!/bin/bash\\n' > ${bin}/g++ && chmod +x ${bin}/g++ ;; esac; done; exit 0`,
  );
  await writeFile(join(dir, 'os-release'), opts.os);
  return {
    dir,
    run: (args = []) => {
      const result = spawnSync(join(bin, 'bash'), ['scripts/setup.sh', ...args], {
        encoding: 'utf8',
        env: { PATH: bin, TMPDIR: dir, VIT_OS_RELEASE: join(dir, 'os-release') },
      });
      return { code: result.status, stdout: result.stdout, stderr: result.stderr };
    },
    calls: async () => (await readFile(calls, 'utf8')).split('\n').filter(Boolean),
  };
}

const DEBIAN = 'ID=debian\nVERSION_CODENAME=trixie\n';

test('with everything present it prints nothing, installs nothing and succeeds', async () => {
  const m = await machine({ os: DEBIAN, installed: ['fonts-dejavu-core'] });
  assert.deepEqual(m.run(), { code: 0, stdout: '', stderr: '' });
  assert.deepEqual(await m.calls(), []);
});

test('it installs what is missing in one apt-get call, says so in one line, and a second run does nothing', async () => {
  const m = await machine({ os: DEBIAN, tools: ['make', 'python3'] });
  const first = m.run();
  assert.equal(first.code, 0, first.stdout + first.stderr);
  assert.equal(first.stdout, `vit setup: installing g++ fonts-dejavu-core (log: ${join(m.dir, 'vit-setup.log')})\n`);
  assert.deepEqual(await m.calls(), ['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends g++ fonts-dejavu-core']);
  assert.deepEqual(m.run(), { code: 0, stdout: '', stderr: '' });
  assert.equal((await m.calls()).length, 2, 'the second run called apt-get');
});

test('--tests also installs what the test suite uses (PyTorch, ONNX, OpenBLAS, Slurm and munge, Chromium; Vulkan already there)', async () => {
  const m = await machine({ os: DEBIAN, installed: ['fonts-dejavu-core', 'libvulkan1', 'mesa-vulkan-drivers'] });
  assert.equal(m.run(['--tests']).code, 0);
  assert.deepEqual(await m.calls(), ['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends python3-torch python3-onnx libopenblas0-pthread slurm-wlm munge chromium']);
});

test('not root: it installs through sudo; without sudo it prints the one command to run as root and fails', async () => {
  const withSudo = await machine({ os: 'ID=ubuntu\nID_LIKE=debian\n', uid: 1000, sudo: true });
  assert.equal(withSudo.run().code, 0);
  assert.ok((await withSudo.calls()).some((c) => c.startsWith('sudo env DEBIAN_FRONTEND=noninteractive apt-get install')));

  const noSudo = await machine({ os: DEBIAN, uid: 1000 });
  const result = noSudo.run();
  assert.equal(result.code, 1);
  assert.equal(result.stdout, 'vit setup: needs root to install fonts-dejavu-core (no sudo here): run as root: apt-get install -y --no-install-recommends fonts-dejavu-core\n');
  assert.deepEqual(await noSudo.calls(), []);
});

test('on a system it does not know, it checks the build tools and names what to install', async () => {
  const ready = await machine({ os: 'ID=plan9\nPRETTY_NAME="Plan 9"\n' });
  assert.deepEqual(ready.run(), { code: 0, stdout: '', stderr: '' });
  const bare = await machine({ os: 'ID=plan9\nPRETTY_NAME="Plan 9"\n', tools: [] });
  assert.deepEqual(bare.run(), {
    code: 1,
    stdout: "vit setup: install a C++ compiler, make and python3 with your system's package manager (Plan 9 is not one vit knows)\n",
    stderr: '',
  });
});

test('an unknown option is an error that names the one it takes', async () => {
  const m = await machine({ os: DEBIAN });
  assert.deepEqual(m.run(['--test']), { code: 2, stdout: '', stderr: 'vit setup: unknown option --test (expected --tests)\n' });
});
