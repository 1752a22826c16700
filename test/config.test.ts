import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { ConfigSchema } from '../src/config/schema.js';
import { UserError } from '../src/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'vit-config-'));
function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}
function rejects(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof UserError, `expected UserError, got ${err}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should mention "${f}"`);
    return true;
  });
}

test('defaults fill every key; the file only needs what it changes', () => {
  const cfg = loadConfig(file('tiny.json', { model: { dim: 64 } }));
  assert.ok(cfg.model.name === 'vit');
  assert.equal(cfg.model.dim, 64);
  assert.equal(cfg.model.depth, ConfigSchema.parse({ model: { name: 'vit' } }).model.name === 'vit' && 7);
  assert.equal(cfg.optimizer.name, 'adamw');
  assert.equal(cfg.run_name, 'tiny', 'run name defaults to the file name');
});

test('--set overrides are typed by the schema', () => {
  const cfg = loadConfig(file('a.json', {}), [
    'train.epochs=5',
    'model.pool=mean',
    'data.flip=false',
    'optimizer.grad_clip=1.5',
    'optimizer.betas=[0.8,0.99]',
    'data.limit_train=null',
    'run_name=exp1',
  ]);
  assert.equal(cfg.train.epochs, 5);
  assert.equal(cfg.model.name === 'vit' && cfg.model.pool, 'mean');
  assert.equal(cfg.data.flip, false);
  assert.equal(cfg.optimizer.grad_clip, 1.5);
  assert.deepEqual(cfg.optimizer.betas, [0.8, 0.99]);
  assert.equal(cfg.data.limit_train, null);
  assert.equal(cfg.run_name, 'exp1');
});

test('--set errors name the key and what was expected', () => {
  const path = file('b.json', {});
  rejects(() => loadConfig(path, ['train.epochs=five']), 'train.epochs', 'expected a number');
  rejects(() => loadConfig(path, ['data.flip=yes']), 'data.flip', 'true or false');
  rejects(() => loadConfig(path, ['model.colour=red']), 'model.colour', 'unknown key');
  rejects(() => loadConfig(path, ['epochs']), 'key.path=value');
  rejects(() => loadConfig(path, ['train.epochs=0']), 'train.epochs', '>=1');
});

test('unknown keys, wrong types and out-of-range values are rejected with the key path', () => {
  rejects(() => loadConfig(file('c.json', { model: { dimm: 3 } })), 'c.json', 'model.dimm', 'unknown key');
  rejects(() => loadConfig(file('d.json', { train: { epochs: '10' } })), 'd.json', 'train.epochs', 'number');
  rejects(() => loadConfig(file('e.json', { model: { dropout: 1 } })), 'model.dropout', '<1');
  rejects(() => loadConfig(file('f.json', { model: { patch_size: 5 } })), 'model.patch_size', 'divisible');
  rejects(() => loadConfig(file('g.json', { schedule: { name: 'linear' } })), 'schedule.name', 'cosine');
  rejects(() => loadConfig(file('h.json', { schedule: { warmup_epochs: 5 }, train: { epochs: 5 } })), 'schedule.warmup_epochs', 'train.epochs');
  rejects(() => loadConfig(file('i.json', { schedule: { name: 'plateau', warmup_epochs: 1 } })), 'schedule.warmup_epochs', 'plateau');
});

test('unreadable files are one clear line and nothing is written', () => {
  const before = readdirSync(dir).sort();
  rejects(() => loadConfig(join(dir, 'missing.json')), 'not found', 'missing.json');
  rejects(() => loadConfig(file('bad.json', '{"model": ')), 'bad.json', 'invalid JSON');
  rejects(() => loadConfig(file('arr.json', '[1]')), 'arr.json', 'JSON object');
  assert.deepEqual(readdirSync(dir).sort(), [...before, 'arr.json', 'bad.json'].sort());
  assert.equal(readFileSync(join(dir, 'bad.json'), 'utf8'), '{"model": ');
});

test('every shipped config in configs/ is valid', () => {
  const configs = readdirSync('configs').filter((f) => f.endsWith('.json'));
  assert.ok(configs.length > 0);
  for (const f of configs) loadConfig(join('configs', f));
});
