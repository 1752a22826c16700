import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadConfig } from '../src/config/load.js';
import { ConfigSchema } from '../src/config/schema.js';
import { summarizeConfig } from '../src/config/summary.js';
import { UserError } from '../src/errors.js';

/** The keys of issue 26's levers: off by default, one-line errors that name the key. */

const dir = mkdtempSync(join(tmpdir(), 'vit-recipe-config-'));
let files = 0;
function load(content: unknown, sets: string[] = []) {
  const path = join(dir, `c${files++}.json`);
  writeFileSync(path, JSON.stringify(content));
  return loadConfig(path, sets);
}
function rejects(content: unknown, sets: string[], ...fragments: string[]): void {
  assert.throws(
    () => load(content, sets),
    (err: unknown) => {
      assert.ok(err instanceof UserError, `expected UserError, got ${err}`);
      assert.ok(!err.message.includes('\n'), `one line: ${err.message}`);
      for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" should mention "${f}"`);
      return true;
    },
  );
}

test('every lever is off by default, and a resolved config without them has none of the optional keys', () => {
  const cfg = ConfigSchema.parse({});
  assert.equal(cfg.data.crop_mode, 'zeros');
  assert.equal(cfg.data.flip_mode, 'random');
  assert.equal(cfg.train.eval_tta, 'none');
  assert.equal(cfg.optimizer.name, 'adamw');
  assert.ok(!('muon' in cfg.optimizer));
  const cct = ConfigSchema.parse({ model: { name: 'cct' } });
  assert.ok(!('whiten_init' in cct.model));
});

test("optimizer.name 'muon' fills optimizer.muon's defaults; --set reaches its keys; the summary shows only what differs", () => {
  const cfg = load({ optimizer: { name: 'muon' } });
  assert.deepEqual(cfg.optimizer.muon, { lr: 0.02, momentum: 0.95, nesterov: true, ns_steps: 5, weight_decay: 0 });
  const set = load({}, ['optimizer.name=muon', 'optimizer.muon.lr=0.05', 'optimizer.muon.nesterov=false']);
  assert.equal(set.optimizer.muon?.lr, 0.05);
  assert.equal(set.optimizer.muon?.nesterov, false);
  const line = summarizeConfig(set).find((l) => l.section === 'optimizer')!.text;
  assert.match(line, /name=muon/);
  assert.match(line, /muon\.lr=0\.05 muon\.nesterov=false/);
  assert.doesNotMatch(line, /momentum/);
});

test('bad values of the new keys are one-line errors naming the key', () => {
  rejects({ optimizer: { muon: { lr: 0.02 } } }, [], 'optimizer.muon', "only for optimizer.name 'muon'");
  rejects({ optimizer: { name: 'muon', muon: { momentum: 1 } } }, [], 'optimizer.muon.momentum', '<1');
  rejects({ optimizer: { name: 'muon', muon: { ns_steps: 0 } } }, [], 'optimizer.muon.ns_steps');
  rejects({ optimizer: { name: 'muon', muon: { beta: 0.9 } } }, [], 'optimizer.muon.beta', 'unknown key');
  rejects({ optimizer: { name: 'lion' } }, [], 'optimizer.name', 'muon');
  rejects({ data: { crop_mode: 'mirror' } }, [], 'data.crop_mode', 'reflect');
  rejects({ data: { flip: false, flip_mode: 'alternate' } }, [], 'data.flip_mode', 'data.flip');
  rejects({ train: { eval_tta: 'translate' } }, [], 'train.eval_tta', 'flip_translate');
  rejects({ model: { whiten_init: {} } }, [], 'model.whiten_init', "not a key of model.name 'vit'");
  rejects({ model: { name: 'cct', whiten_init: { eps: 0 } } }, [], 'model.whiten_init.eps');
  rejects({ model: { name: 'cct', whiten_init: { images: 0 } } }, [], 'model.whiten_init.images');
  rejects({ data: { resize: 64 }, model: { name: 'cct', image_size: 64, whiten_init: {} } }, [], 'model.whiten_init', 'data.resize (64)');
  rejects({}, ['data.crop_mode=mirror'], 'data.crop_mode');
});

test('the new keys take their documented values', () => {
  const cfg = load({
    data: { crop_padding: 2, crop_mode: 'reflect', flip_mode: 'alternate' },
    model: { name: 'cct', whiten_init: { frozen: false } },
    train: { eval_tta: 'flip_translate' },
  });
  assert.equal(cfg.data.crop_mode, 'reflect');
  assert.equal(cfg.data.flip_mode, 'alternate');
  assert.deepEqual(cfg.model.name === 'cct' && cfg.model.whiten_init, { frozen: false, eps: 5e-4, images: 5000 });
  assert.equal(cfg.train.eval_tta, 'flip_translate');
  const off = load({ model: { name: 'cct', whiten_init: null } }).model;
  assert.equal(off.name === 'cct' && off.whiten_init, null, 'null: off');
});
