import { Presets, SingleBar } from 'cli-progress';

export interface ByteProgress {
  advance(bytes: number): void;
  stop(): void;
}

/**
 * Progress of a transfer of `total` bytes (undefined when the server does not say), on stderr:
 * a live bar on a terminal; in a log file or CI output a handful of plain lines instead of
 * thousands of redraws.
 */
export function byteProgress(total: number | undefined): ByteProgress {
  return process.stderr.isTTY && total ? barProgress(total) : lineProgress(total);
}

function barProgress(total: number): ByteProgress {
  const bar = new SingleBar(
    {
      format: '[{bar}] {percentage}% | {done} / {size} MB | {rate} MB/s | ETA {eta_formatted}',
      stream: process.stderr,
      hideCursor: true,
      etaBuffer: 200, // updates come per network chunk (~64 KB): average over many for a steady ETA
    },
    Presets.shades_classic,
  );
  const started = performance.now();
  let done = 0;
  bar.start(total, 0, { done: megabytes(0), size: megabytes(total), rate: '-' });
  return {
    advance(bytes) {
      done += bytes;
      bar.update(done, { done: megabytes(done), rate: megabytes(done / ((performance.now() - started) / 1000)) });
    },
    stop: () => bar.stop(),
  };
}

function lineProgress(total: number | undefined): ByteProgress {
  let done = 0;
  let reportedQuarter = 0;
  return {
    advance(bytes) {
      done += bytes;
      if (!total) return;
      const quarter = Math.floor((4 * done) / total);
      if (quarter > reportedQuarter && quarter < 4) {
        reportedQuarter = quarter;
        process.stderr.write(`  ${quarter * 25}% (${megabytes(done)} of ${megabytes(total)} MB)\n`);
      }
    },
    stop: () => process.stderr.write(`  received ${megabytes(done)} MB\n`),
  };
}

function megabytes(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}
