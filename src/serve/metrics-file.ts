import { METRIC_COLUMNS, type MetricsRow } from '../train/metrics-csv.js';

/** The columns every vit metrics.csv has had; the later ones (grad_norm, elapsed_minutes) may be absent in old runs. */
const REQUIRED = ['epoch', 'lr', 'train_loss', 'train_acc', 'val_loss', 'val_acc'] as const;

/** A number as vit writes it (formatNumber in metrics-csv.ts), NaN and ±Infinity included. */
const NUMBER = /^(?:[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?|NaN|[-+]?Infinity)$/i;

export class MetricsFileError extends Error {}

/**
 * Reads a run's metrics.csv strictly, for a page that must tell a broken file from a run that has
 * not finished an epoch yet: any line that is not a row of numbers under vit's header is an error
 * naming the file and line. A last line without its newline is a row still being appended
 * (`vit train` appends one line per epoch) and is left for the next read.
 *
 * Columns missing from an old file are NaN, except elapsed_minutes, which is rebuilt from
 * epoch_seconds so that curves against wall-clock time still work.
 */
export function parseMetricsCsv(text: string, source: string): MetricsRow[] {
  const lines = text.split('\n');
  const tail = lines.pop()!;
  // Kept back only while it can still become a row; anything else is as broken now as it will be.
  if (tail !== '' && !/^[-+.,\deNaInfity]*$/i.test(tail)) lines.push(tail);
  if (lines.length === 0) return [];
  const header = lines[0].replace(/\r$/, '').split(',').map((h) => h.trim());
  const missing = REQUIRED.filter((c) => !header.includes(c));
  if (missing.length) throw new MetricsFileError(`${source}: not a vit metrics file (its header lacks ${missing.join(', ')})`);
  const rows: MetricsRow[] = [];
  let minutes = 0;
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i].replace(/\r$/, '');
    if (line.trim() === '') continue;
    const cells = line.split(',');
    if (cells.length !== header.length || !cells.every((c) => NUMBER.test(c.trim()))) {
      throw new MetricsFileError(`${source} line ${i + 1}: expected ${header.length} numbers, found "${shorten(line, 40)}"`);
    }
    const values = Object.fromEntries(header.map((h, j) => [h, Number(cells[j])]));
    const row = Object.fromEntries(METRIC_COLUMNS.map((c) => [c, c in values ? values[c] : NaN])) as MetricsRow;
    minutes += Number.isFinite(row.epoch_seconds) ? row.epoch_seconds / 60 : 0;
    if (!('elapsed_minutes' in values)) row.elapsed_minutes = minutes;
    rows.push(row);
  }
  return rows;
}

function shorten(text: string, max: number): string {
  const printable = text.replace(/[^\x20-\x7e]/g, '?');
  return printable.length <= max ? printable : `${printable.slice(0, max - 1)}…`;
}
