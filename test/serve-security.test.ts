import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdir, mkdtemp, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type ServeFixtures, serveFixtures } from './helpers/serve-fixtures.js';
import { type ServeProcess, startServe } from './helpers/serve-process.js';

/**
 * `vit serve` reads only inside the folders it was given, whatever a request says, and writes
 * nothing but uploads, into a temp folder it removes. Requests go out raw (node:http, not fetch,
 * which would normalise `..` away before sending).
 */
let fixtures: ServeFixtures;
let server: ServeProcess;
let privateTmp: string;
const SECRET = 'the secret outside the served folders';

before(async () => {
  fixtures = await serveFixtures();
  // Outside the served folders (checkpoints/, sweeps/), beside them: what a traversal would be after.
  await writeFile(join(fixtures.root, 'secret.txt'), SECRET);
  await symlink(join(fixtures.root, 'secret.txt'), join(fixtures.checkpoints, 'vit-adamw', 'leak.txt'));
  const outsideRun = join(fixtures.root, 'elsewhere', 'outside-run');
  await mkdir(outsideRun, { recursive: true });
  await writeFile(join(outsideRun, 'config.json'), '{}');
  await writeFile(join(outsideRun, 'metrics.csv'), SECRET);
  await symlink(outsideRun, join(fixtures.checkpoints, 'outside-run'));
  privateTmp = await mkdtemp(join(tmpdir(), 'vit-serve-tmp-'));
  server = await startServe([fixtures.checkpoints, fixtures.sweeps, '--data-dir', fixtures.dataDir], { TMPDIR: privateTmp });
});

after(async () => {
  await server?.stop();
  await fixtures?.cleanup();
  await rm(privateTmp, { recursive: true, force: true });
});

function raw(path: string, opts: { method?: string; headers?: Record<string, string>; body?: Buffer } = {}): Promise<{ status: number; body: string }> {
  const url = new URL(server.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, method: opts.method ?? 'GET', headers: { host: url.host, ...opts.headers } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

test('a file inside a served folder is served (so that the refusals below are refusals)', async () => {
  const res = await raw('/files/checkpoints/vit-adamw/config.json');
  assert.equal(res.status, 200);
  assert.equal(JSON.parse(res.body).run_name, 'vit-adamw');
});

test('paths out of the served folders are refused, however they are spelt', async () => {
  for (const path of [
    '/files/checkpoints/../secret.txt',
    '/files/checkpoints/vit-adamw/../../secret.txt',
    '/files/checkpoints/%2e%2e/secret.txt',
    '/files/checkpoints/%2E%2E/secret.txt',
    '/files/checkpoints/.%2e/secret.txt',
    '/files/checkpoints/..%2fsecret.txt',
    '/files/checkpoints/..%5csecret.txt',
    '/files/checkpoints/./../secret.txt',
    '/files/checkpoints/%252e%252e/secret.txt',
    '/files/checkpoints/vit-adamw/leak.txt',
    '/files/checkpoints/outside-run/metrics.csv',
    `/files/${encodeURIComponent(fixtures.root)}/secret.txt`,
    '/../secret.txt',
    '/%2e%2e/%2e%2e/etc/passwd',
  ]) {
    const res = await raw(path);
    assert.ok(res.status === 403 || res.status === 404, `${path}: status ${res.status}`);
    assert.ok(!res.body.includes(SECRET), `${path}: the secret came back`);
  }
  // The traversals proper are refused as such, not merely not found.
  for (const path of ['/files/checkpoints/../secret.txt', '/files/checkpoints/%2e%2e/secret.txt', '/files/checkpoints/vit-adamw/leak.txt']) {
    assert.equal((await raw(path)).status, 403, path);
  }
});

test('a symlink to a run outside the served folders does not make it a run', async () => {
  const { runs } = JSON.parse((await raw('/api/runs')).body) as { runs: { id: string }[] };
  assert.ok(runs.some((r) => r.id === 'checkpoints/vit-adamw'));
  assert.ok(!runs.some((r) => r.id.includes('outside-run')), runs.map((r) => r.id).join(', '));
  assert.equal((await raw('/api/checkpoint?run=checkpoints/outside-run')).status, 404);
});

test('another Host (DNS rebinding) and a POST without the page\'s header (another site\'s form) are refused', async () => {
  assert.equal((await raw('/api/runs', { headers: { host: 'attacker.example:6007' } })).status, 403);
  const res = await raw('/api/analyze?run=checkpoints/tiny&which=best', { method: 'POST' });
  assert.equal(res.status, 403);
  assert.match(res.body, /X-Vit-Serve/);
});

test('an upload over the size limit is refused with 413, and uploads leave nothing behind', async () => {
  const big = await raw('/api/predict?run=checkpoints/tiny&which=best', { method: 'POST', headers: { 'x-vit-serve': '1', 'content-type': 'image/png' }, body: Buffer.alloc(21 * 1024 * 1024) });
  assert.equal(big.status, 413);
  const png = await raw('/api/predict?run=checkpoints/tiny&which=best&name=ship.png', {
    method: 'POST',
    headers: { 'x-vit-serve': '1', 'content-type': 'image/png' },
    body: await import('node:fs/promises').then((fs) => fs.readFile('docs/images/test-0-ship.png')),
  });
  assert.equal(png.status, 200, png.body);
  assert.equal(JSON.parse(png.body).top.length, 5);
  const uploadDirs = await ourTempDirs();
  assert.equal(uploadDirs.length, 1, `temp folders: ${uploadDirs}`);
  const [uploads] = uploadDirs;
  assert.deepEqual(await readdir(join(privateTmp, uploads)), [], 'an upload was kept after its prediction');
});

test('it says one line when it starts and one per error, and Ctrl-C leaves no temp folder', async () => {
  const lines = server.stdout().trim().split('\n');
  assert.equal(lines.length, 1, server.stdout());
  assert.match(lines[0], /^vit serve http:\/\/127\.0\.0\.1:\d+\/ {2}\d+ runs, 1 sweep in .*\(Ctrl-C stops\)$/);
  assert.deepEqual(server.stderr().trim().split('\n'), ['vit serve: error: checkpoints/broken/metrics.csv line 3: expected 6 numbers, found "2,0.001,oops,0.3"']);
  assert.equal(await server.stop(), 0);
  assert.deepEqual(await ourTempDirs(), []);
});

/** vit serve's own temp folders in its TMPDIR (tsx, which runs it from source here, keeps a cache there too). */
async function ourTempDirs(): Promise<string[]> {
  return (await readdir(privateTmp)).filter((name) => name.startsWith('vit-serve-'));
}
