import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ComputeSetup } from '../backend/index.js';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { BudgetPlan } from '../train/budget.js';
import { UserError } from '../errors.js';
import { readableDir, replaceDirAtomic } from '../util/atomic.js';
import { decodeSafetensors, encodeSafetensors } from './safetensors.js';

/**
 * A checkpoint is a directory:
 *   config.json           the resolved config of the run
 *   weights.safetensors   model parameters (our names, see docs/checkpoint.md)
 *   optimizer.safetensors optimizer moments (`m/<param>`, `v/<param>`; Muon's buffers `muon/<param>`),
 *                         and, when on, the EMA's raw weights (`w/<param>`) and lookahead's slow ones (`la/<param>`)
 *   state.json            where training stands: counters, schedule, early stopping, best metric, meta
 * It is written to a temp directory, flushed to the disk and renamed into place, so a crash (or a
 * full disk) leaves the previous checkpoint or the new one, never a mix.
 */

export interface NamedArray {
  shape: number[];
  data: Float32Array;
}
export type NamedArrays = Record<string, NamedArray>;

export interface TrainingState {
  /** Epochs fully completed (the next epoch to run is `epoch + 1`, unless `step_in_epoch` > 0). */
  epoch: number;
  /** Batches already done in epoch `epoch + 1` when the run was interrupted mid-epoch (else 0). */
  step_in_epoch: number;
  /** Training steps since the start of the run. */
  global_step: number;
  /** The optimizer's own step count (for Adam's bias correction). */
  optimizer_step: number;
  /** Training time so far, over all sessions (for `train.max_minutes` and the metrics). */
  elapsed_seconds: number;
  /** Running sums of the interrupted epoch, so its metrics row comes out as if uninterrupted. */
  partial_epoch: { loss_sum: number; correct: number; seen: number; seconds: number; grad_norm_sum: number } | null;
  schedule: unknown;
  early_stopping: unknown;
  best: { monitor: string; value: number; epoch: number } | null;
  /** The run's length planned by `train.fit_to_budget` (null: train.epochs); the last of `plans`. */
  planned_epochs: number | null;
  /** Every plan `train.fit_to_budget` made, in order (src/train/budget.ts); absent before vit 0.4. */
  plans?: BudgetPlan[];
}
// There is no separate RNG state to save: every random draw (shuffle, augmentation, dropout) comes
// from an Rng seeded by (config.seed, epoch) or (config.seed, global_step), so the counters above
// are the RNG state. See src/train/seeds.ts.

export interface CheckpointMeta {
  tool: string;
  version: string;
  backend: string;
  /** What computed it (absent in checkpoints of vit 0.2 and earlier): see src/backend/index.ts. */
  compute?: ComputeSetup;
  date: string;
  /** The validation metrics of the epoch this checkpoint was taken at, if any. */
  metrics: Record<string, number> | null;
}

export interface Checkpoint {
  config: Config;
  weights: NamedArrays;
  optimizer: NamedArrays;
  state: TrainingState;
  meta: CheckpointMeta;
}

export async function saveCheckpoint(dir: string, ckpt: Checkpoint): Promise<void> {
  await replaceDirAtomic(dir, async (tmp) => {
    await writeFile(join(tmp, 'config.json'), JSON.stringify(ckpt.config, null, 2) + '\n');
    await writeFile(join(tmp, 'weights.safetensors'), encode(ckpt.weights, { format: 'vit' }));
    await writeFile(join(tmp, 'optimizer.safetensors'), encode(ckpt.optimizer, {}));
    await writeFile(join(tmp, 'state.json'), JSON.stringify({ ...ckpt.state, meta: ckpt.meta }, null, 2) + '\n');
  });
}

export async function loadCheckpoint(path: string): Promise<Checkpoint> {
  // A crash in the middle of replacing `last/` may have left only the previous copy, set aside.
  const dir = await readableDir(path);
  const config = parseConfig(await readJson(join(dir, 'config.json'), dir), join(dir, 'config.json'));
  const weights = decode(await readBytes(join(dir, 'weights.safetensors'), dir), join(dir, 'weights.safetensors'));
  const optimizer = decode(await readBytes(join(dir, 'optimizer.safetensors'), dir), join(dir, 'optimizer.safetensors'));
  const { meta, ...state } = (await readJson(join(dir, 'state.json'), dir)) as TrainingState & { meta: CheckpointMeta };
  if (typeof state.epoch !== 'number' || typeof state.global_step !== 'number' || !meta) {
    throw new UserError(`${join(dir, 'state.json')}: not a vit training state (missing epoch/global_step/meta)`);
  }
  return { config, weights, optimizer, state, meta };
}

/**
 * Checks that a checkpoint's arrays are exactly the expected set of names and shapes: a clear
 * error instead of a silent partial load when the config and the checkpoint disagree.
 */
export function checkShapes(arrays: NamedArrays, expected: Record<string, number[]>, source: string): void {
  const missing = Object.keys(expected).filter((n) => !(n in arrays));
  const extra = Object.keys(arrays).filter((n) => !(n in expected));
  if (missing.length || extra.length) {
    const parts = [missing.length ? `missing ${list(missing)}` : '', extra.length ? `unexpected ${list(extra)}` : ''];
    throw new UserError(`${source}: does not match the model config (${parts.filter(Boolean).join('; ')})`);
  }
  for (const [name, shape] of Object.entries(expected)) {
    const got = arrays[name].shape;
    if (got.length !== shape.length || got.some((d, i) => d !== shape[i])) {
      throw new UserError(`${source}: ${name} has shape [${got}] but the model config expects [${shape}]`);
    }
  }
}

function list(names: string[]): string {
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} and ${names.length - 3} more` : names.join(', ');
}

function encode(arrays: NamedArrays, metadata: Record<string, string>): Uint8Array {
  const tensors = Object.fromEntries(
    Object.entries(arrays).map(([name, a]) => [name, { dtype: 'F32' as const, shape: a.shape, data: a.data }]),
  );
  return encodeSafetensors(tensors, metadata);
}

function decode(bytes: Uint8Array, source: string): NamedArrays {
  const { tensors } = decodeSafetensors(bytes, source);
  const out: NamedArrays = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t.data instanceof Float32Array)) throw new UserError(`${source}: ${name} is ${t.dtype}, expected F32`);
    out[name] = { shape: t.shape, data: t.data };
  }
  return out;
}

async function readBytes(path: string, dir: string): Promise<Uint8Array> {
  try {
    return new Uint8Array(await readFile(path));
  } catch (err) {
    throw notACheckpoint(err, path, dir);
  }
}

async function readJson(path: string, dir: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw notACheckpoint(err, path, dir);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new UserError(`${path}: corrupt checkpoint file (${(err as Error).message})`);
  }
}

function notACheckpoint(err: unknown, path: string, dir: string): UserError {
  if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
    return new UserError(`${dir}: not a checkpoint directory (no ${path.slice(dir.length + 1)})`);
  }
  return new UserError(`${path}: cannot read (${(err as Error).message})`);
}
