import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { vit } from './helpers/cli.js';

test('vit --help lists every subcommand, and each has useful help', () => {
  const help = vit(['--help']);
  assert.equal(help.code, 0);
  for (const command of ['train', 'eval', 'predict', 'plot', 'attention', 'data', 'bench', 'backends', 'export', 'import']) {
    assert.match(help.stdout, new RegExp(`^\\s+${command}\\b`, 'm'), `${command} listed`);
    const sub = vit([command, '--help']);
    assert.equal(sub.code, 0, `${command} --help`);
    assert.match(sub.stdout, /Usage: vit /);
  }
});

test('an invalid config is one clear error line, a non-zero exit, and no run directory', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'vit-cli-'));
  const config = join(dir, 'bad.json');
  await writeFile(config, JSON.stringify({ checkpoint_dir: join(dir, 'ckpt'), model: { depth: 0 } }));
  const run = vit(['train', '--config', config, '--data-dir', join(dir, 'data')]);
  assert.equal(run.code, 1);
  assert.equal(run.stderr.trim().split('\n').length, 1, run.stderr);
  assert.match(run.stderr, /bad\.json: model\.depth: .*>=1/);
  assert.deepEqual(await readdir(dir), ['bad.json']);
});

test('train without a config says what it needs', () => {
  const run = vit(['train']);
  assert.equal(run.code, 1);
  assert.match(run.stderr, /--config/);
});
