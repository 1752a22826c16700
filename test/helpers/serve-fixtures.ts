import assert from 'node:assert/strict';
import { appendFile, copyFile, mkdir, rename, rm, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigSchema } from '../../src/config/schema.js';
import { METRIC_COLUMNS, type MetricsRow } from '../../src/train/metrics-csv.js';
import { vit } from './cli.js';
import { tinyTrainedRun } from './tiny-run.js';

/**
 * Folders for `vit serve` to show, the way a user's look after some work:
 *   checkpoints/vit-adamw    a finished ViT run (hand-written: config, 30 epochs of metrics, last/state.json)
 *   checkpoints/cct-muon     a finished CCT run (likewise), to compare with it
 *   checkpoints/live         a run 3 epochs into 20, last written now: `appendEpoch` adds its next epoch
 *   checkpoints/broken       a run whose metrics.csv is not one
 *   checkpoints/tiny         a real 2-epoch tiny ViT (best/, last/ with weights; last/eval.json from `vit eval --json`)
 *   sweeps/lr/               sweep.json and four trials (two learning rates × two seeds), each a run folder
 * and `dataDir`, the synthetic CIFAR-10 the tiny run trained and is tested on.
 */
export interface ServeFixtures {
  root: string;
  checkpoints: string;
  sweeps: string;
  dataDir: string;
  tiny: string;
  live: string;
  /** Appends the live run's next epoch to its metrics.csv, as `vit train` does; returns the epoch number. */
  appendEpoch(): Promise<number>;
  cleanup(): Promise<void>;
}

const HOUR = 3600 * 1000;

export async function serveFixtures(): Promise<ServeFixtures> {
  const trained = await tinyTrainedRun('vit-serve-fixtures-');
  const root = trained.root;
  const checkpoints = join(root, 'checkpoints');
  const sweeps = join(root, 'sweeps');
  await mkdir(checkpoints);
  const tiny = join(checkpoints, 'tiny');
  await rename(trained.runDir, tiny);
  // `vit train` (the command) writes the run's config.json; the trainer the helper calls does not.
  await copyFile(join(tiny, 'best', 'config.json'), join(tiny, 'config.json'));
  const evaluated = vit(['eval', '--checkpoint', join(tiny, 'last'), '--data-dir', trained.dataDir, '--backend', 'cpu', '--json']);
  assert.equal(evaluated.code, 0, evaluated.stderr);
  await writeFile(join(tiny, 'last', 'eval.json'), evaluated.stdout);

  await handRun(join(checkpoints, 'vit-adamw'), { model: { patch_size: 4, dim: 128, depth: 4, heads: 4, dim_head: 32, mlp_dim: 256 }, optimizer: { name: 'adamw', lr: 1e-3 }, train: { epochs: 30 } }, 30, { rate: 0.09, ceiling: 0.74, seconds: 41 }, Date.now() - 26 * HOUR);
  await handRun(join(checkpoints, 'cct-muon'), { model: { name: 'cct' }, optimizer: { name: 'muon', lr: 0.02 }, train: { epochs: 30 } }, 30, { rate: 0.16, ceiling: 0.83, seconds: 63 }, Date.now() - 3 * HOUR);
  const live = join(checkpoints, 'live');
  await handRun(live, { model: { name: 'cct' }, optimizer: { name: 'muon', lr: 0.03 }, train: { epochs: 20 } }, 3, { rate: 0.16, ceiling: 0.85, seconds: 30 }, Date.now());
  const broken = join(checkpoints, 'broken');
  await handRun(broken, {}, 2, { rate: 0.1, ceiling: 0.5, seconds: 10 }, Date.now() - 50 * HOUR);
  await writeFile(join(broken, 'metrics.csv'), 'epoch,lr,train_loss,train_acc,val_loss,val_acc\n1,0.001,2.1,0.21,2.0,0.27\n2,0.001,oops,0.3\n');
  await utimes(join(broken, 'metrics.csv'), new Date(Date.now() - 50 * HOUR), new Date(Date.now() - 50 * HOUR));

  const sweep = join(sweeps, 'lr');
  await mkdir(join(sweep, 'trials'), { recursive: true });
  const grid = { 'optimizer.lr': [1e-3, 3e-3], seed: [1, 2] };
  await writeFile(join(sweep, 'sweep.json'), JSON.stringify({ name: 'lr', grid }, null, 2));
  let n = 0;
  for (const lr of grid['optimizer.lr']) {
    for (const seed of grid.seed) {
      const ceiling = (lr === 3e-3 ? 0.62 : 0.55) + 0.01 * seed;
      await handRun(join(sweep, 'trials', String(n++).padStart(3, '0')), { seed, optimizer: { lr }, train: { epochs: 10 } }, 10, { rate: 0.3, ceiling, seconds: 12 }, Date.now() - 5 * HOUR);
    }
  }

  let liveEpochs = 3;
  return {
    root,
    checkpoints,
    sweeps,
    dataDir: trained.dataDir,
    tiny,
    live,
    async appendEpoch() {
      liveEpochs++;
      const row = curveRow(liveEpochs, 20, { rate: 0.16, ceiling: 0.85, seconds: 30 }, 0.03);
      await appendFile(join(live, 'metrics.csv'), `${METRIC_COLUMNS.map((c) => row[c]).join(',')}\n`);
      await writeFile(join(live, 'last', 'state.json'), JSON.stringify(stateJson(liveEpochs, row)));
      return liveEpochs;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

interface Curve {
  rate: number;
  ceiling: number;
  seconds: number;
}

/** A run folder as `vit train` leaves it, minus the weights: config.json, metrics.csv, last/state.json. */
async function handRun(dir: string, settings: Record<string, unknown>, epochs: number, curve: Curve, whenMs: number): Promise<void> {
  await mkdir(join(dir, 'last'), { recursive: true });
  const config = ConfigSchema.parse({ run_name: dir.split('/').at(-1), ...settings });
  await writeFile(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const rows = Array.from({ length: epochs }, (_, i) => curveRow(i + 1, config.train.epochs, curve, config.optimizer.lr));
  await writeFile(join(dir, 'metrics.csv'), [METRIC_COLUMNS.join(','), ...rows.map((r) => METRIC_COLUMNS.map((c) => r[c]).join(','))].join('\n') + '\n');
  await writeFile(join(dir, 'last', 'state.json'), JSON.stringify(stateJson(epochs, rows.at(-1)!)));
  const when = new Date(whenMs);
  for (const path of [join(dir, 'config.json'), join(dir, 'metrics.csv'), join(dir, 'last', 'state.json')]) await utimes(path, when, when);
}

function stateJson(epoch: number, row: MetricsRow) {
  return { epoch, step_in_epoch: 0, global_step: epoch * 100, optimizer_step: epoch * 100, elapsed_seconds: row.elapsed_minutes * 60, planned_epochs: null, early_stopping: { best: row.val_acc, bestEpoch: epoch }, meta: {} };
}

/** Plausible numbers: accuracy rising towards `ceiling`, loss falling, a cosine learning rate. */
function curveRow(epoch: number, total: number, { rate, ceiling, seconds }: Curve, lr: number): MetricsRow {
  const wobble = 0.01 * Math.sin(epoch * 2.3);
  const rise = 1 - Math.exp(-rate * epoch);
  const trainAcc = Math.min(0.99, 0.1 + (ceiling + 0.06 - 0.1) * rise);
  const valAcc = 0.1 + (ceiling - 0.1) * rise + wobble;
  const round = (x: number) => Number(x.toPrecision(6));
  return {
    epoch,
    lr: round(lr * 0.5 * (1 + Math.cos((Math.PI * (epoch - 1)) / total))),
    train_loss: round(2.3 * (1 - trainAcc) + 0.2),
    train_acc: round(trainAcc),
    val_loss: round(2.3 * (1 - valAcc) + 0.3 - wobble),
    val_acc: round(valAcc),
    epoch_seconds: seconds,
    images_per_second: round(45000 / seconds),
    grad_norm: 1.2,
    elapsed_minutes: round((epoch * seconds) / 60),
  };
}
