import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { mkdir, mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import * as tar from 'tar';
import { DATASET_DIR, DATASET_FILES } from '../src/data/cifar10.js';
import { downloadDataset, ensureDataset } from '../src/data/download.js';
import { UserError } from '../src/errors.js';
import { writeSyntheticArchive } from './fixtures/synthetic-archive.js';

let root: string;
let archive: { path: string; md5: string; staged: string };
let server: Server;
let baseUrl: string;
/** Resolves when the server has started the stalled response of `/stall`. */
let stalled: Promise<void>;
let onStalled: () => void;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-download-'));
  archive = await writeSyntheticArchive(root);
  stalled = new Promise((resolve) => (onStalled = resolve));
  const bytes = await readFile(archive.path);
  server = createServer((req, res) => {
    if (req.url === '/cifar-10-binary.tar.gz') {
      res.writeHead(200, { 'content-length': bytes.length }).end(bytes);
    } else if (req.url === '/stall') {
      // Sends a little, then nothing: a download that is still in progress when interrupted.
      res.writeHead(200, { 'content-length': bytes.length }).write(bytes.subarray(0, 100), () => onStalled());
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await rm(root, { recursive: true, force: true });
});

let dirCount = 0;
async function freshDataDir(): Promise<string> {
  const dir = join(root, `data-${dirCount++}`);
  await mkdir(dir);
  return dir;
}

/** Every file under `dir` with its content, to compare directories byte for byte. */
async function snapshot(dir: string): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.set(join(entry.parentPath, entry.name), await readFile(join(entry.parentPath, entry.name)));
  }
  return files;
}

async function md5Of(path: string): Promise<string> {
  return createHash('md5').update(await readFile(path)).digest('hex');
}

async function assertDatasetMatchesArchive(dataDir: string): Promise<void> {
  assert.deepEqual(await readdir(dataDir), [DATASET_DIR], 'only the dataset is left in the data dir');
  for (const file of DATASET_FILES) {
    assert.deepEqual(await readFile(join(dataDir, DATASET_DIR, file)), await readFile(join(archive.staged, file)), file);
  }
}

test('a local archive path is verified and unpacked to DIR/cifar-10-batches-bin', async () => {
  const dataDir = await freshDataDir();
  const result = await downloadDataset(dataDir, { source: archive.path, md5: archive.md5, force: false });
  assert.deepEqual(result, { path: join(dataDir, DATASET_DIR), downloaded: true });
  await assertDatasetMatchesArchive(dataDir);
});

test('a file:// URL works like a path, and the data dir is created when missing', async () => {
  const dataDir = join(await freshDataDir(), 'nested');
  await downloadDataset(dataDir, { source: pathToFileURL(archive.path).href, md5: archive.md5.toUpperCase(), force: false });
  await assertDatasetMatchesArchive(dataDir);
});

test('an HTTP source is streamed to a temp file that is removed afterwards', async () => {
  const dataDir = await freshDataDir();
  await downloadDataset(dataDir, { source: `${baseUrl}/cifar-10-binary.tar.gz`, md5: archive.md5, force: false });
  await assertDatasetMatchesArchive(dataDir);
});

test('an existing dataset is kept as it is unless forced', async () => {
  const dataDir = await freshDataDir();
  await mkdir(join(dataDir, DATASET_DIR));
  await writeFile(join(dataDir, DATASET_DIR, 'marker'), 'old');
  const kept = await downloadDataset(dataDir, { source: join(root, 'no-such.tar.gz'), md5: archive.md5, force: false });
  assert.equal(kept.downloaded, false);
  assert.equal(await ensureDataset(dataDir), join(dataDir, DATASET_DIR));
  assert.deepEqual(await readdir(join(dataDir, DATASET_DIR)), ['marker']);

  const forced = await downloadDataset(dataDir, { source: archive.path, md5: archive.md5, force: true });
  assert.equal(forced.downloaded, true);
  await assertDatasetMatchesArchive(dataDir); // the marker went with the old directory
});

/** A forced attempt that must fail without touching the existing dataset or leaving temp files. */
async function assertFailsCleanly(source: string, md5: string, message: RegExp): Promise<void> {
  const dataDir = await freshDataDir();
  await downloadDataset(dataDir, { source: archive.path, md5: archive.md5, force: false });
  const before = await snapshot(dataDir);
  await assert.rejects(downloadDataset(dataDir, { source, md5, force: true }), (err: unknown) => {
    assert.ok(err instanceof UserError, String(err));
    assert.match(err.message, message);
    return true;
  });
  assert.deepEqual(await snapshot(dataDir), before);
  assert.deepEqual(await readdir(dataDir), [DATASET_DIR]);
}

test('a wrong md5 on a local archive says expected vs got and hints --md5', async () => {
  const wrong = '0'.repeat(32);
  await assertFailsCleanly(archive.path, wrong, new RegExp(`md5 is ${archive.md5}, expected ${wrong}.*--md5 ${archive.md5}`));
});

test('a wrong md5 over HTTP leaves no temp archive', async () => {
  await assertFailsCleanly(`${baseUrl}/cifar-10-binary.tar.gz`, 'f'.repeat(32), /md5 is .*, expected f{32}; the download is corrupt/);
});

test('a truncated archive (with its own md5) is reported as incomplete', async () => {
  const truncated = join(root, 'truncated.tar.gz');
  await writeFile(truncated, await readFile(archive.path));
  await truncate(truncated, 300);
  await assertFailsCleanly(truncated, await md5Of(truncated), /truncated\.tar\.gz: not a complete \.tar\.gz archive/);
});

test('an archive without the expected files is rejected', async () => {
  const partial = join(root, 'partial.tar.gz');
  await tar.c({ gzip: true, file: partial, cwd: join(archive.staged, '..') }, [`${DATASET_DIR}/batches.meta.txt`]);
  await assertFailsCleanly(partial, await md5Of(partial), /lacks cifar-10-batches-bin\/data_batch_1\.bin, .*test_batch\.bin;/);
});

test('an unreachable host gives one clear line suggesting --source', async () => {
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const source = `http://127.0.0.1:${port}/cifar-10-binary.tar.gz`;
  await assertFailsCleanly(source, archive.md5, new RegExp(`^cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\)\\. .*vit data download --source /path/to/cifar-10-binary\\.tar\\.gz --md5 <hex>$`));
});

test('HTTP errors, a missing local file and a malformed --md5 are UserErrors', async () => {
  await assertFailsCleanly(`${baseUrl}/missing.tar.gz`, archive.md5, /missing\.tar\.gz: the server answered HTTP 404 Not Found$/);
  await assertFailsCleanly(join(root, 'nope.tar.gz'), archive.md5, /nope\.tar\.gz: archive not found/);
  await assertFailsCleanly(archive.path, 'abc', /--md5 abc: expected 32 hexadecimal digits/);
});

test('Ctrl-C during a download ends the process with 130 and leaves nothing behind', async () => {
  const dataDir = await freshDataDir();
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/fixtures/download-child.ts', dataDir, `${baseUrl}/stall`, archive.md5]);
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise((resolve) => child.on('exit', resolve));
  await stalled;
  await new Promise((resolve) => setTimeout(resolve, 100)); // let the child receive the first bytes
  child.kill('SIGINT');
  const code = await exited;
  assert.equal(code, 130, stderr);
  assert.match(stderr, /download interrupted; nothing was kept/);
  assert.deepEqual(await readdir(dataDir), []);
});
