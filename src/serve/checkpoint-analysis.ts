import { readFile, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TopLevelSpec } from 'vega-lite';
import { readableDir } from '../util/atomic.js';
import { confusionSpec } from '../viz/confusion-heatmap.js';
import type { AnalysisResult, PredictResult, WrongImage } from './compute-protocol.js';
import type { ComputeWorker } from './compute-worker.js';
import { type EvalReport, readEvalReport } from './eval-report.js';
import type { EventStream } from './event-stream.js';
import { describeModel } from './model-access.js';
import { perClassSpec } from './page-charts.js';
import type { RunCatalog } from './run-catalog.js';
import type { CheckpointName, RunRecord } from './run-record.js';
import { Refused, isInside } from './served-folders.js';

export interface JobStatus {
  key: string;
  run: string;
  which: CheckpointName;
  state: 'running' | 'done' | 'error';
  done: number;
  total: number;
  message?: string;
}

/** Everything the Checkpoint view shows of one checkpoint. */
export interface CheckpointView {
  run: string;
  which: CheckpointName;
  epoch: number | null;
  family: string | null;
  params: number | null;
  attention: string | null;
  report: EvalReport | null;
  charts: { confusion: TopLevelSpec; perClass: TopLevelSpec } | null;
  mostWrong: WrongImage[] | null;
  job: JobStatus | null;
}

/**
 * The Checkpoint and Try-it views' computations: a checkpoint's per-class accuracy, confusion
 * matrix and most-wrong test images (from its eval.json when `vit eval --json` wrote one, else
 * computed over the test set in the compute process, with progress), and predictions for
 * uploaded images. Results live in memory only, keyed by the checkpoint's weights file, so that a
 * rewritten best/ is analysed afresh.
 */
export class CheckpointAnalyses {
  private readonly results = new Map<string, AnalysisResult>();
  private readonly jobs = new Map<string, JobStatus>();

  constructor(
    private readonly catalog: RunCatalog,
    private readonly worker: ComputeWorker,
    private readonly events: EventStream,
    private readonly dataDir: string,
    private readonly onError: (line: string) => void,
  ) {}

  async view(runId: string, which: CheckpointName): Promise<CheckpointView> {
    const { record, dir, key } = await this.locate(runId, which);
    const computed = this.results.get(key) ?? null;
    let report: EvalReport | null = computed?.report ?? null;
    if (!report) report = await readEvalReport(dir).catch((err: Error) => Promise.reject(new Refused(`${runId}/${which}/${err.message}`, 422)));
    if (report && which === 'best' && report.source === 'eval.json' && record.summary.test?.accuracy !== report.accuracy) {
      record.summary.test = { accuracy: report.accuracy, images: report.images, source: 'eval.json' };
      this.catalog.emit('run', record.summary);
    }
    const facts = record.config ? describeModel(record.config.model) : null;
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8').catch(() => '{}')) as { epoch?: number };
    return {
      run: runId,
      which,
      epoch: state.epoch ?? null,
      family: facts?.family ?? null,
      params: facts?.params ?? null,
      attention: facts?.attention ?? null,
      report,
      charts: report
        ? {
            confusion: confusionSpec(report.confusion, report.classes, report.perClass, report.accuracy, `${runId}/${which} · ${report.images} test images${report.tta === 'none' ? '' : ` · TTA ${report.tta}`}`),
            perClass: perClassSpec(report.classes, report.perClass),
          }
        : null,
      mostWrong: computed?.mostWrong ?? null,
      job: this.jobs.get(key) ?? null,
    };
  }

  /** Starts (or joins) the analysis of a checkpoint; progress and the end come as `job` events. */
  async start(runId: string, which: CheckpointName): Promise<JobStatus> {
    const { record, dir, key } = await this.locate(runId, which);
    const running = this.jobs.get(key);
    if (running?.state === 'running') return running;
    if (!record.config) throw new Refused(`${runId}: its config.json cannot be read (${record.summary.error})`, 422);
    const status: JobStatus = { key, run: runId, which, state: 'running', done: 0, total: 0 };
    this.jobs.set(key, status);
    this.events.send('job', status);
    const { data, train } = record.config;
    this.worker
      .run<AnalysisResult>({ kind: 'analyze', checkpoint: dir, dataDir: this.dataDir, limitTest: data.limit_test, batchSize: train.eval_batch_size }, (done, total) => {
        Object.assign(status, { done, total });
        this.events.send('job', status);
      })
      .then((result) => {
        this.results.set(key, result);
        status.state = 'done';
        if (which === 'best') this.catalog.setComputedTest(runId, { accuracy: result.report.accuracy, images: result.report.images, source: 'computed' });
      })
      .catch((err: Error) => {
        status.state = 'error';
        status.message = `${runId}/${which}: ${err.message}`;
        this.onError(status.message);
      })
      .finally(() => this.events.send('job', status));
    return status;
  }

  /** The checkpoint folder to classify uploads with (checked before an upload is read). */
  async checkpointDir(runId: string, which: CheckpointName): Promise<string> {
    return (await this.locate(runId, which)).dir;
  }

  predict(checkpoint: string, file: string): Promise<PredictResult> {
    return this.worker.run<PredictResult>({ kind: 'predict', checkpoint, file });
  }

  /** The checkpoint folder of a known run, refused unless it really is inside the served folders. */
  private async locate(runId: string, which: CheckpointName): Promise<{ record: RunRecord; dir: string; key: string }> {
    const run = this.catalog.run(runId);
    const record = this.catalog.record(runId);
    if (!run || !record) throw new Refused(`no run ${runId}`, 404);
    let dir: string;
    try {
      dir = await realpath(await readableDir(join(run.dir, which)));
    } catch {
      throw new Refused(`${runId} has no ${which}/ checkpoint yet`, 404);
    }
    if (!this.catalog.folders.some((f) => isInside(dir, f.real))) throw new Refused('refused: a link out of the served folders', 403);
    const weights = await stat(join(dir, 'weights.safetensors')).catch(() => null);
    if (!weights) throw new Refused(`${runId}/${which}: no weights.safetensors (not a checkpoint)`, 404);
    return { record, dir, key: `${runId}/${which}@${weights.mtimeMs}` };
  }
}
