import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { UserError } from '../src/errors.js';
import { explainSystemError, systemFailureLine } from '../src/system-error.js';
import { readableDir, replaceDirAtomic, tempPathFor } from '../src/util/atomic.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-system-error-'));
});
after(() => rm(root, { recursive: true, force: true }));

const sysError = (code: string, path = '/x/y') => Object.assign(new Error(`${code}: something, write '${path}'`), { code, syscall: 'write', path });

test('a system failure, even wrapped in a cause, becomes one line saying what, where, what is intact and what to do', () => {
  const wrapped = new Error('outer', { cause: sysError('ENOSPC') });
  const err = explainSystemError(wrapped, { doing: 'writing runs/a/last', intact: 'the previous last/ (epoch 4) is intact', next: 'resume with: vit train --resume runs/a/last' });
  assert.ok(err instanceof UserError);
  assert.equal(err.message, 'disk full (ENOSPC) while writing runs/a/last; the previous last/ (epoch 4) is intact; free some space and resume with: vit train --resume runs/a/last');
  assert.match((explainSystemError(sysError('EROFS'), { doing: 'writing d', intact: 'nothing was kept' }) as Error).message, /^read-only file system \(EROFS\) while writing d; nothing was kept; use a writable directory$/);
});

test('anything that is not a system failure keeps its identity (and so its stack trace)', () => {
  for (const err of [new TypeError('x is undefined'), sysError('ENOENT'), sysError('EINVAL'), new UserError('already one line')]) {
    assert.equal(explainSystemError(err, { doing: 'd', intact: 'i' }), err);
  }
  assert.equal(systemFailureLine(new RangeError('bug')), undefined);
  assert.equal(systemFailureLine(sysError('EACCES', '/etc/x')), 'permission denied (EACCES) (write /etc/x); check the permissions and run the command again');
});

test('a crash between the two renames of replaceDirAtomic: readers find the copy set aside, and the next write puts it back first', async () => {
  const dir = join(root, 'last');
  await replaceDirAtomic(dir, (tmp) => writeFile(join(tmp, 'state.json'), '1'));
  // What the crash leaves: last/ renamed aside, the new copy never renamed in.
  const aside = tempPathFor(dir) + '.old';
  await rename(dir, aside);
  assert.equal(await readableDir(dir), aside);
  assert.equal(await readFile(join(await readableDir(dir), 'state.json'), 'utf8'), '1');

  await assert.rejects(replaceDirAtomic(dir, () => Promise.reject(new Error('fill failed'))), /fill failed/);
  assert.equal(await readFile(join(dir, 'state.json'), 'utf8'), '1', 'the aside copy is back in place even though the new one failed');
  await replaceDirAtomic(dir, (tmp) => writeFile(join(tmp, 'state.json'), '2'));
  assert.equal(await readFile(join(dir, 'state.json'), 'utf8'), '2');
  assert.deepEqual(await readdir(root), ['last']);
});

test('readableDir returns the path itself when there is nothing to fall back to', async () => {
  const missing = join(root, 'nothing', 'here');
  assert.equal(await readableDir(missing), missing);
  await mkdir(join(root, 'plain'));
  assert.equal(await readableDir(join(root, 'plain')), join(root, 'plain'));
});

/** Runs a command action through runAction, capturing stderr and the exit code it sets. */
async function runCaptured(action: () => void): Promise<{ stderr: string; exitCode: number | undefined }> {
  const { runAction } = await import('../src/cli/run-action.js');
  const write = process.stderr.write;
  const saved = process.exitCode;
  let stderr = '';
  process.stderr.write = ((chunk: string) => ((stderr += chunk), true)) as typeof process.stderr.write;
  try {
    process.exitCode = undefined;
    await runAction(action)();
    return { stderr, exitCode: process.exitCode as number | undefined };
  } finally {
    process.stderr.write = write;
    process.exitCode = saved;
  }
}

test('the CLI prints a system failure no caller explained as one line (exit 1), and a bug with its stack (exit 70)', async () => {
  const system = await runCaptured(() => {
    throw sysError('EDQUOT', '/home/u/runs/x');
  });
  assert.equal(system.exitCode, 1);
  assert.match(system.stderr, /^error: disk quota exceeded \(EDQUOT\) \(write \/home\/u\/runs\/x\); free some space and run the command again\n$/);

  const bug = await runCaptured(() => {
    throw new TypeError('boom');
  });
  assert.equal(bug.exitCode, 70);
  assert.match(bug.stderr, /^TypeError: boom\n\s+at /);
});

test("the CLI prints wasm's out-of-memory abort as one line with exit 1, without a stack trace", async () => {
  const oom = await runCaptured(() => {
    const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: ErrorConstructor } }).WebAssembly;
    throw new RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
  });
  assert.equal(oom.exitCode, 1);
  assert.match(oom.stderr, /^error: the wasm backend ran out of memory: its heap is capped at 4 GiB.*train\.batch_size.*\n$/);
});
