import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loaderArgs } from '../backend/choose/isolated-probe.js';
import type { ComputeReply, ComputeRequest } from './compute-protocol.js';

type Job = ComputeRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

interface Pending {
  resolve(result: unknown): void;
  reject(err: Error): void;
  progress?(done: number, total: number): void;
}

/** How many of the compute process's own output lines are kept, to explain a crash. */
const LOG_LINES = 20;

/**
 * The server's handle on its compute process (compute-child.ts), started on the first job and
 * again after a crash. Its stdout and stderr (tfjs's and a backend's messages) are kept, not
 * shown: the last line explains a crash.
 */
export class ComputeWorker {
  private child: ChildProcess | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private log: string[] = [];

  run<T>(job: Job, progress?: (done: number, total: number) => void): Promise<T> {
    const child = this.child ?? this.start();
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (r: unknown) => void, reject, progress });
      child.send({ ...job, id } as ComputeRequest);
    });
  }

  close(): void {
    this.child?.kill();
    this.child = null;
  }

  private start(): ChildProcess {
    const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
    const script = fileURLToPath(new URL(`./compute-child${ext}`, import.meta.url));
    const child = fork(script, [], { execArgv: loaderArgs(process.execArgv), stdio: ['ignore', 'pipe', 'pipe', 'ipc'], env: { ...process.env, NO_COLOR: '1' } });
    const keep = (chunk: Buffer) => {
      this.log.push(...chunk.toString('utf8').split('\n').filter((l) => l.trim()));
      this.log = this.log.slice(-LOG_LINES);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('message', (reply: ComputeReply) => {
      const pending = this.pending.get(reply.id);
      if (!pending) return;
      if (reply.type === 'progress') return pending.progress?.(reply.done, reply.total);
      this.pending.delete(reply.id);
      if (reply.type === 'result') pending.resolve(reply.result);
      else pending.reject(new Error(reply.message));
    });
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = null;
      const why = `the compute process ${signal ? `was killed by ${signal}` : `exited with code ${code}`}${this.log.length ? ` (${this.log.at(-1)})` : ''}`;
      for (const pending of this.pending.values()) pending.reject(new Error(why));
      this.pending.clear();
    });
    this.child = child;
    return child;
  }
}
