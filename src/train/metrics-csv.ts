import { appendFile, readFile } from 'node:fs/promises';
import { parseString, writeToString } from 'fast-csv';
import { writeFileAtomic } from '../util/atomic.js';

/** One row per epoch. The first eight columns are the stable interface; extras go at the end. */
export const METRIC_COLUMNS = [
  'epoch',
  'lr',
  'train_loss',
  'train_acc',
  'val_loss',
  'val_acc',
  'epoch_seconds',
  'images_per_second',
  'grad_norm',
  'elapsed_minutes',
] as const;

export type MetricsRow = Record<(typeof METRIC_COLUMNS)[number], number>;

/**
 * The run's metrics.csv, appended one row per epoch as training goes (so a crash loses nothing
 * already reported). On resume, rows after the checkpoint's epoch (written after the checkpoint
 * was taken) are dropped so the file continues exactly where the checkpoint does.
 */
export class MetricsCsv {
  private constructor(readonly path: string) {}

  /** Starts a new file with just the header. */
  static async create(path: string): Promise<MetricsCsv> {
    await writeFileAtomic(path, (await writeToString([[...METRIC_COLUMNS]])) + '\n');
    return new MetricsCsv(path);
  }

  /** Reopens an existing file, keeping only the rows of epochs up to `lastEpoch`. */
  static async resume(path: string, lastEpoch: number): Promise<MetricsCsv> {
    const kept = (await readMetrics(path)).filter((row) => row.epoch <= lastEpoch);
    const csv = await writeToString(kept, { headers: [...METRIC_COLUMNS], includeEndRowDelimiter: true });
    await writeFileAtomic(path, kept.length ? csv : (await writeToString([[...METRIC_COLUMNS]])) + '\n');
    return new MetricsCsv(path);
  }

  async append(row: MetricsRow): Promise<void> {
    const line = await writeToString([METRIC_COLUMNS.map((c) => formatNumber(row[c]))], { includeEndRowDelimiter: true });
    await appendFile(this.path, line);
  }
}

export async function readMetrics(path: string): Promise<MetricsRow[]> {
  const text = await readFile(path, 'utf8');
  return new Promise((resolve, reject) => {
    const rows: MetricsRow[] = [];
    parseString(text, { headers: true })
      .on('error', reject)
      .on('data', (raw: Record<string, string>) => {
        rows.push(Object.fromEntries(METRIC_COLUMNS.map((c) => [c, Number(raw[c])])) as MetricsRow);
      })
      .on('end', () => resolve(rows));
  });
}

/** Enough digits to compare runs exactly, without float noise like 0.30000000000000004. */
function formatNumber(x: number): string {
  return Number.isInteger(x) ? String(x) : String(Number(x.toPrecision(8)));
}
