import { createReadStream } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UserError } from '../errors.js';
import { handleApi, json } from './api.js';
import { CheckpointAnalyses } from './checkpoint-analysis.js';
import { ComputeWorker } from './compute-worker.js';
import { EventStream } from './event-stream.js';
import { pageFiles } from './page-files.js';
import { RunCatalog } from './run-catalog.js';
import { Refused, resolveServedFile, servedFolders } from './served-folders.js';
import { Uploads } from './uploads.js';

export interface ServeOptions {
  dirs: string[];
  dataDir: string;
  host: string;
  /** null: the first free port from DEFAULT_PORT up. */
  port: number | null;
  /** One line per error while serving. */
  onError(line: string): void;
}

export interface RunningServer {
  url: string;
  runs: number;
  sweeps: number;
  close(): Promise<void>;
}

/** TensorBoard's 6006, plus one: both can run side by side. */
export const DEFAULT_PORT = 6007;
const PORTS_TRIED = 100;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

/** Headers of every page and API answer: nothing loads from elsewhere, nothing embeds the page. */
const SECURITY_HEADERS = {
  // vega compiles its expressions with Function(): 'unsafe-eval'. Everything else is this server's.
  'content-security-policy': "default-src 'self'; script-src 'self' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

/**
 * `vit serve`'s web server: the page (web/), its API (api.ts), live updates (server-sent events)
 * and read-only access to files inside the served folders (`/files/<folder>/<path>`).
 */
export async function startServer(opts: ServeOptions): Promise<RunningServer> {
  const folders = await servedFolders(opts.dirs);
  const catalog = new RunCatalog(folders);
  await catalog.load();
  const events = new EventStream();
  const worker = new ComputeWorker();
  const uploads = await Uploads.create();
  const analyses = new CheckpointAnalyses(catalog, worker, events, opts.dataDir, opts.onError);
  const files = pageFiles();
  const ctx = { folders, catalog, analyses, events, uploads, dataDir: opts.dataDir };
  catalog.on('run', (summary) => events.send('run', summary));
  catalog.on('runs', (summaries) => events.send('runs', summaries));
  catalog.on('file-error', (line: string) => opts.onError(line));
  for (const s of catalog.summaries()) if (s.error) opts.onError(s.error);

  let port = 0;
  const loopbackOnly = LOOPBACK.has(opts.host);
  const server = createServer((req, res) => {
    handle(req, res).catch((err: Error) => {
      const status = err instanceof Refused ? err.status : 500;
      if (status >= 500) opts.onError(`${req.method} ${req.url}: ${err.message.split('\n')[0]}`);
      if (!res.headersSent) json(res, { error: err.message.split('\n')[0] }, status);
      else res.end();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) res.setHeader(name, value);
    // Another site's page could reach a loopback server through a name that resolves to it
    // (DNS rebinding); the Host header tells.
    if (loopbackOnly && !isLoopbackHost(req.headers.host, port)) throw new Refused('refused: unexpected Host header', 403);
    const raw = req.url ?? '/';
    const cut = raw.indexOf('?');
    const path = cut < 0 ? raw : raw.slice(0, cut);
    const query = new URLSearchParams(cut < 0 ? '' : raw.slice(cut + 1));
    if (path.startsWith('/api/')) {
      // A plain form on another site cannot add a header; a fetch that adds one needs CORS, which this server never grants.
      if (req.method !== 'GET' && req.headers['x-vit-serve'] !== '1') throw new Refused('refused: missing the X-Vit-Serve header', 403);
      return handleApi(ctx, req, res, path, query);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') throw new Refused('only GET here', 405);
    if (path.startsWith('/files/')) return sendFile(res, await resolveServedFile(folders, path.slice('/files'.length)), contentType(path));
    const file = files.get(path);
    if (!file) throw new Refused('not found', 404);
    return sendFile(res, file.path, file.type);
  }

  port = await listen(server, opts.host, opts.port);
  catalog.watch();
  const host = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | null = null;
  return {
    url: `http://${host}:${port}/`,
    runs: catalog.summaries().length,
    sweeps: catalog.sweeps().length,
    close: () =>
      (closing ??= (async () => {
        events.close();
        catalog.close();
        worker.close();
        server.closeAllConnections();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        await uploads.close();
      })()),
  };
}

function isLoopbackHost(header: string | undefined, port: number): boolean {
  if (!header) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(header.toLowerCase());
}

/** Listens on `port`, or on the first free one from DEFAULT_PORT up. */
async function listen(server: Server, host: string, port: number | null): Promise<number> {
  const candidates = port === null ? Array.from({ length: PORTS_TRIED }, (_, i) => DEFAULT_PORT + i) : [port];
  for (const candidate of candidates) {
    const err = await new Promise<NodeJS.ErrnoException | null>((resolve) => {
      server.once('error', resolve);
      server.listen(candidate, host, () => {
        server.off('error', resolve);
        resolve(null);
      });
    });
    if (!err) return (server.address() as AddressInfo).port;
    if (err.code === 'EADDRINUSE' && port === null) continue;
    if (err.code === 'EADDRINUSE') throw new UserError(`--port ${port}: already in use (leave --port out to take the first free port from ${DEFAULT_PORT})`);
    if (err.code === 'EACCES') throw new UserError(`--port ${candidate}: not allowed for this user (ports below 1024 need root)`);
    if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') throw new UserError(`--host ${host}: not an address of this machine`);
    throw err;
  }
  throw new UserError(`no free port from ${DEFAULT_PORT} to ${DEFAULT_PORT + PORTS_TRIED - 1}: give one with --port`);
}

const FILE_TYPES: Record<string, string> = {
  '.json': 'application/json; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

function contentType(path: string): string {
  const ext = path.slice(path.lastIndexOf('.')).toLowerCase();
  return FILE_TYPES[ext] ?? 'application/octet-stream';
}

function sendFile(res: ServerResponse, path: string, type: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const stream = createReadStream(path);
    stream.once('open', () => {
      res.writeHead(200, { 'content-type': type, 'cache-control': 'no-cache' });
      stream.pipe(res);
    });
    stream.once('error', reject);
    stream.once('end', resolve);
  });
}
