import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { UserError } from '../errors.js';
import { CIFAR10, type DatasetSpec } from './datasets.js';
import { byteProgress } from './progress.js';

/** Error codes (undici's and the OS's) that mean the server could not be reached or stopped answering. */
const NETWORK_CODES = new Set([
  'ENOTFOUND', 'EAI_AGAIN', 'ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET',
]);

/** Streams `url` into `file` with a progress display, hashing on the way; returns the md5 (hex). */
export async function fetchToFile(url: string, file: string, signal: AbortSignal, hint = offlineHint(CIFAR10)): Promise<string> {
  process.stderr.write(`downloading ${url}\n`);
  let response: Response;
  try {
    response = await fetch(url, { signal });
  } catch (err) {
    if (signal.aborted) throw err;
    throw explainNetworkError(url, err, 'cannot reach', hint) ?? refusedByFetch(url, err, hint);
  }
  if (!response.ok || !response.body) {
    throw new UserError(`${url}: the server answered HTTP ${response.status} ${response.statusText}`.trimEnd());
  }
  const progress = byteProgress(Number(response.headers.get('content-length')) || undefined);
  const md5 = createHash('md5');
  try {
    await pipeline(
      Readable.fromWeb(response.body as ReadableStream<Uint8Array>),
      async function* (chunks: AsyncIterable<Buffer>) {
        for await (const chunk of chunks) {
          md5.update(chunk);
          progress.advance(chunk.length);
          yield chunk;
        }
      },
      createWriteStream(file),
      { signal },
    );
  } catch (err) {
    throw explainNetworkError(url, err, 'lost the connection to', hint) ?? err;
  } finally {
    progress.stop();
  }
  return md5.digest('hex');
}

/** What to do without a network: fetch the archive elsewhere and unpack it with --source. */
export function offlineHint(spec: DatasetSpec): string {
  const dataset = spec === CIFAR10 ? '' : ` --dataset ${spec.name}`;
  return `Get ${spec.archive} another way and run: vit data download${dataset} --source /path/to/${spec.archive} --md5 <hex>`;
}

/** A UserError for a server that could not be reached or stopped answering; undefined for other errors. */
function explainNetworkError(url: string, err: unknown, what: string, hint: string): UserError | undefined {
  const code = networkCode(err);
  if (code === undefined) return undefined;
  return new UserError(`${what} ${new URL(url).host} (${code}). ${hint}`);
}

/**
 * fetch() rejects some requests before connecting, as a TypeError whose `cause` says why: a
 * malformed URL ("Invalid URL"), a port browsers refuse ("bad port"), an unsupported scheme.
 * None of these is our bug, and the URL is the user's, so it is one line naming it.
 */
function refusedByFetch(url: string, err: unknown, hint: string): unknown {
  if (!(err instanceof TypeError)) return err;
  const cause = err.cause instanceof Error ? err.cause.message : err.message;
  const why = /bad port/i.test(cause) ? 'its port is one that fetch refuses to connect to (a "bad port")' : cause;
  return new UserError(`${url}: cannot download (${why}). ${hint}`);
}

/** fetch wraps the socket's error in `cause` ("fetch failed"), sometimes twice. */
function networkCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (typeof e.code === 'string' && NETWORK_CODES.has(e.code)) return e.code;
  }
  return undefined;
}
