import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, mock, test } from 'node:test';
import { dataCommand } from '../src/cli/data.js';
import { writeSyntheticCifar10 } from '../src/data/synthetic.js';

let root: string;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'vit-data-cli-'));
  await writeSyntheticCifar10(join(root, 'data'), { perBatch: 20, seed: 1 });
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

afterEach(() => {
  mock.restoreAll();
  process.exitCode = undefined;
});

/** Runs `vit data ARGS`, returning what it printed. */
async function run(...args: string[]): Promise<{ stdout: string; stderr: string }> {
  const stdout: string[] = [], stderr: string[] = [];
  mock.method(console, 'log', (line: string) => stdout.push(line));
  mock.method(process.stderr, 'write', (text: string) => stderr.push(text) > 0);
  await dataCommand().parseAsync(args, { from: 'user' });
  mock.restoreAll();
  return { stdout: stdout.join('\n'), stderr: stderr.join('') };
}

test('`data info` prints counts per class and split', async () => {
  const { stdout } = await run('info', '--data-dir', join(root, 'data'));
  const lines = stdout.split('\n');
  assert.equal(lines[0], `CIFAR-10 in ${join(root, 'data', 'cifar-10-batches-bin')}`);
  assert.deepEqual(lines[1].split(/\s+/), ['class', 'train', 'test']);
  assert.deepEqual(lines[2].split(/\s+/), ['airplane', '10', '2']);
  assert.deepEqual(lines[11].split(/\s+/), ['truck', '10', '2']);
  assert.deepEqual(lines[12].split(/\s+/), ['total', '100', '20']);
});

test('`data download` says so when the dataset is already there', async () => {
  const { stdout } = await run('download', '--data-dir', join(root, 'data'));
  assert.match(stdout, /^CIFAR-10 is already in .*cifar-10-batches-bin \(--force downloads it again\)$/);
});

test('errors are one line on stderr and a non-zero exit code', async () => {
  const { stderr } = await run('info', '--data-dir', join(root, 'empty'));
  assert.match(stderr, /^.*error:.* .*batches\.meta\.txt: file not found \(run `vit data download` to fetch CIFAR-10\)\n$/);
  assert.equal(process.exitCode, 1);
});
