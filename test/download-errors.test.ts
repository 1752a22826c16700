import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { vit } from './helpers/cli.js';

let root: string;
before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-download-errors-'));
});
after(() => rm(root, { recursive: true, force: true }));

/** The one `error:` line and nothing that looks like a stack trace; the `downloading …` notice may precede it. */
function errorLine(stderr: string): string {
  assert.doesNotMatch(stderr, /^\s+at /m, stderr);
  const errors = stderr.split('\n').filter((l) => l.startsWith('error:'));
  assert.equal(errors.length, 1, stderr);
  assert.deepEqual(stderr.trim().split('\n').filter((l) => !l.startsWith('error:') && !l.startsWith('downloading ')), [], stderr);
  return errors[0];
}

/** A loopback port nothing listens on: one the OS just handed out and we closed again. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

const MD5 = '0123456789abcdef0123456789abcdef';

test('a URL that fetch refuses before connecting (a blocked port) is one line naming the URL; the new data dir is removed', async () => {
  const dataDir = join(root, 'fresh', 'data');
  // Port 9 (discard) is on fetch's list of blocked ports: it rejects without opening a socket.
  const { code, stderr } = vit(['data', 'download', '--source', 'http://127.0.0.1:9/cifar.tar.gz', '--md5', MD5, '--data-dir', dataDir]);
  assert.equal(code, 1);
  assert.match(errorLine(stderr), /^error: http:\/\/127\.0\.0\.1:9\/cifar\.tar\.gz: cannot download \(its port is one that fetch refuses to connect to \(a "bad port"\)\)\. Get cifar-10-binary\.tar\.gz another way/);
  // It created root/fresh/data: all of it goes again, the parent it did not create stays.
  await assert.rejects(stat(join(root, 'fresh')), { code: 'ENOENT' });
});

test('a malformed URL is one line naming it, and an existing data dir is left as it was', async () => {
  const dataDir = join(root, 'existing');
  await mkdir(dataDir);
  const { code, stderr } = vit(['data', 'download', '--source', 'http://127.0.0.1:99999/x', '--md5', MD5, '--data-dir', dataDir]);
  assert.equal(code, 1);
  assert.match(errorLine(stderr), /^error: http:\/\/127\.0\.0\.1:99999\/x: cannot download \(Invalid URL\)\./);
  assert.deepEqual(await readdir(dataDir), []);
});

test('connection refused on a fresh data dir: one line, and the data dir is removed', async () => {
  const dataDir = join(root, 'refused');
  const port = await closedPort();
  const { code, stderr } = vit(['data', 'download', '--source', `http://127.0.0.1:${port}/x`, '--md5', MD5, '--data-dir', dataDir]);
  assert.equal(code, 1);
  assert.match(errorLine(stderr), new RegExp(`^error: cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)`));
  await assert.rejects(stat(dataDir), { code: 'ENOENT' });
});
