import type { ServerResponse } from 'node:http';

/** A comment now and then keeps proxies and idle timeouts from closing a quiet stream. */
const HEARTBEAT_MS = 25_000;

/**
 * Server-sent events to every open page: `runs` when runs appear or go, `run` when one changes
 * (a new epoch in its metrics.csv), `job` as a checkpoint's analysis progresses.
 */
export class EventStream {
  private readonly clients = new Set<ServerResponse>();
  private readonly heartbeat = setInterval(() => this.write(': keep-alive\n\n'), HEARTBEAT_MS);

  constructor() {
    this.heartbeat.unref();
  }

  open(res: ServerResponse, first: { event: string; data: unknown }): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' });
    res.write(`retry: 2000\n${format(first.event, first.data)}`);
    this.clients.add(res);
    res.on('close', () => this.clients.delete(res));
  }

  send(event: string, data: unknown): void {
    this.write(format(event, data));
  }

  close(): void {
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private write(text: string): void {
    for (const res of this.clients) res.write(text);
  }
}

function format(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}
