import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MetricsFileError, parseMetricsCsv } from '../src/serve/metrics-file.js';
import { METRIC_COLUMNS } from '../src/train/metrics-csv.js';

const HEADER = METRIC_COLUMNS.join(',');
const row = (epoch: number) => `${epoch},0.001,2.1,0.21,2,0.27,30,1500,1.1,${epoch / 2}`;

test('rows of numbers under the header, NaN included; a last line without its newline is left for the next read', () => {
  const rows = parseMetricsCsv(`${HEADER}\n${row(1)}\n2,0.001,NaN,0.2,2,0.3,30,1500,1.1,1\n3,0.0`, 'm.csv');
  assert.equal(rows.length, 2);
  assert.equal(rows[1].epoch, 2);
  assert.ok(Number.isNaN(rows[1].train_loss));
  assert.deepEqual(parseMetricsCsv(`${HEADER}\n`, 'm.csv'), []);
  assert.deepEqual(parseMetricsCsv('', 'm.csv'), []);
});

test('an old file without elapsed_minutes gets it from the epochs\' seconds', () => {
  const rows = parseMetricsCsv('epoch,lr,train_loss,train_acc,val_loss,val_acc,epoch_seconds\n1,0.1,2,0.1,2,0.1,30\n2,0.1,2,0.1,2,0.1,90\n', 'm.csv');
  assert.deepEqual(rows.map((r) => r.elapsed_minutes), [0.5, 2]);
  assert.ok(Number.isNaN(rows[0].grad_norm));
});

test('a broken file is one error naming the file and line', () => {
  assert.throws(() => parseMetricsCsv(`${HEADER}\n${row(1)}\n2,0.001,oops\n`, 'runs/a/metrics.csv'), new MetricsFileError('runs/a/metrics.csv line 3: expected 10 numbers, found "2,0.001,oops"'));
  assert.throws(() => parseMetricsCsv('hello,world\n1,2\n', 'm.csv'), new MetricsFileError('m.csv: not a vit metrics file (its header lacks epoch, lr, train_loss, train_acc, val_loss, val_acc)'));
  // Garbage at the end is not a row in progress.
  assert.throws(() => parseMetricsCsv(`${HEADER}\n${row(1)}\n\u0000\u0001garbage`, 'm.csv'), /m\.csv line 3: expected 10 numbers, found "\?\?garbage"/);
});
