import { EventEmitter } from 'node:events';
import { type FSWatcher, watch } from 'node:fs';
import { type Discovery, type FoundRun, type FoundSweep, discover } from './run-discovery.js';
import { type RunRecord, type RunSummary, readRun, restate } from './run-record.js';
import type { ServedFolder } from './served-folders.js';

/** Changes arrive in bursts (a checkpoint is a temp folder, a rename and a delete): read once they settle. */
const SETTLE_MS = 150;
/** How often live runs' states are worked out again (from what was read: no file is read), so that one that died turns 'stopped'. */
const LIVE_RECHECK_MS = 30_000;

/**
 * The runs and sweeps under the served folders, kept current by file-system events: each run
 * folder is watched (metrics.csv grows by a line per epoch), and so is each folder a new run or
 * trial could appear in. Nothing walks the tree again unless one of those folders changes.
 * Emits 'run' (a RunSummary) when a run changes and 'runs' when runs appear or go.
 */
export class RunCatalog extends EventEmitter {
  private discovery: Discovery = { runs: [], sweeps: [], containers: [] };
  private readonly records = new Map<string, RunRecord>();
  private readonly watchers = new Map<string, FSWatcher>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly computedTests = new Map<string, RunSummary['test']>();
  private recheck: NodeJS.Timeout | null = null;

  constructor(readonly folders: ServedFolder[]) {
    super();
  }

  async load(): Promise<void> {
    await this.rescan(false);
  }

  /** Starts watching (the server does; a one-off read needs no watchers). */
  watch(): void {
    this.syncWatchers();
    this.recheck = setInterval(() => {
      for (const record of this.records.values()) {
        if (record.summary.state !== 'live') continue;
        const summary = restate(record, Date.now());
        if (summary.state === 'live') continue;
        record.summary = summary;
        this.emit('run', summary);
      }
    }, LIVE_RECHECK_MS);
    this.recheck.unref();
  }

  close(): void {
    for (const watcher of this.watchers.values()) watcher.close();
    for (const timer of this.timers.values()) clearTimeout(timer);
    if (this.recheck) clearInterval(this.recheck);
    this.watchers.clear();
  }

  summaries(): RunSummary[] {
    return this.discovery.runs.map((r) => this.records.get(r.id)?.summary).filter((s): s is RunSummary => Boolean(s));
  }

  record(id: string): RunRecord | undefined {
    return this.records.get(id);
  }

  run(id: string): FoundRun | undefined {
    return this.discovery.runs.find((r) => r.id === id);
  }

  sweeps(): FoundSweep[] {
    return this.discovery.sweeps;
  }

  trialsOf(sweep: string): RunRecord[] {
    return this.discovery.runs.filter((r) => r.sweep === sweep).map((r) => this.records.get(r.id)).filter((r): r is RunRecord => Boolean(r));
  }

  /** The test accuracy this server computed for a run's best/, shown until eval.json says otherwise. */
  setComputedTest(id: string, test: NonNullable<RunSummary['test']>): void {
    this.computedTests.set(id, test);
    const record = this.records.get(id);
    if (record && record.summary.test?.source !== 'eval.json') {
      record.summary.test = test;
      this.emit('run', record.summary);
    }
  }

  private async rescan(announce: boolean): Promise<void> {
    const before = this.discovery.runs.map((r) => r.id).join('\n');
    this.discovery = await discover(this.folders);
    const ids = new Set(this.discovery.runs.map((r) => r.id));
    for (const id of this.records.keys()) if (!ids.has(id)) this.records.delete(id);
    await Promise.all(this.discovery.runs.filter((r) => !this.records.has(r.id)).map((r) => this.read(r)));
    if (this.recheck || this.watchers.size) this.syncWatchers();
    if (announce && before !== this.discovery.runs.map((r) => r.id).join('\n')) this.emit('runs', this.summaries());
  }

  private async read(run: FoundRun): Promise<RunRecord> {
    const record = await readRun(run, Date.now());
    const computed = this.computedTests.get(run.id);
    if (computed && !record.summary.test) record.summary.test = computed;
    const previous = this.records.get(run.id)?.summary.error;
    if (record.summary.error && record.summary.error !== previous) this.emit('file-error', record.summary.error);
    this.records.set(run.id, record);
    return record;
  }

  private async reread(id: string): Promise<void> {
    const run = this.run(id);
    if (!run) return;
    const record = await this.read(run);
    this.emit('run', record.summary);
  }

  private schedule(key: string, work: () => Promise<void>): void {
    clearTimeout(this.timers.get(key));
    this.timers.set(
      key,
      setTimeout(() => {
        this.timers.delete(key);
        work().catch((err: Error) => this.emit('file-error', err.message));
      }, SETTLE_MS),
    );
  }

  /** One watcher per run folder and per container folder; those that went away are dropped. */
  private syncWatchers(): void {
    const wanted = new Map<string, () => void>();
    for (const run of this.discovery.runs) wanted.set(run.dir, () => this.schedule(run.id, () => this.reread(run.id)));
    for (const dir of this.discovery.containers) wanted.set(dir, () => this.schedule('\0scan', () => this.rescan(true)));
    for (const [dir, watcher] of this.watchers) {
      if (!wanted.has(dir)) {
        watcher.close();
        this.watchers.delete(dir);
      }
    }
    for (const [dir, onChange] of wanted) {
      if (this.watchers.has(dir)) continue;
      try {
        const watcher = watch(dir, { persistent: false }, onChange);
        // The folder was removed or renamed: the next scan finds out what is left.
        watcher.on('error', () => {
          watcher.close();
          this.watchers.delete(dir);
          this.schedule('\0scan', () => this.rescan(true));
        });
        this.watchers.set(dir, watcher);
      } catch {
        // Gone between the scan and now: the scan its parent's watcher triggers will tell.
      }
    }
  }
}
