import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigSchema } from '../src/config/schema.js';
import { summarizeConfig } from '../src/config/summary.js';

const lines = (raw: object, extra = {}) => Object.fromEntries(summarizeConfig(ConfigSchema.parse(raw), extra).map((l) => [l.section, l.text]));

test('the summary has one line per section: headline keys, then only the keys that differ from the defaults', () => {
  const s = lines({ run_name: 'r', seed: 3, model: { dim: 64 }, optimizer: { lr: 0.002, betas: [0.9, 0.95] }, data: { randaugment: { n: 2, m: 12 } } }, { model: '5 parameters' });
  assert.equal(s.run, 'run_name=r seed=3');
  assert.equal(s.model, '5 parameters · name=vit dim=64');
  assert.equal(s.optimizer, 'name=adamw lr=0.002 betas=[0.9,0.95]');
  assert.equal(s.data, 'randaugment.n=2 randaugment.m=12');
  assert.equal(s.early_stopping, 'defaults');
  assert.equal(s.train, 'epochs=200 batch_size=128 max_minutes=null');
});

test('every section of the schema gets a line, so a new section shows up without an edit', () => {
  const sections = Object.keys(ConfigSchema.parse({})).filter((k) => typeof (ConfigSchema.parse({}) as Record<string, unknown>)[k] === 'object');
  assert.deepEqual(summarizeConfig(ConfigSchema.parse({})).map((l) => l.section).slice(1), sections);
});
