import * as tf from '@tensorflow/tfjs';
import { type ActiveBackend, useBackend } from '../backend/index.js';
import { checkShapes, loadCheckpoint } from '../checkpoint/checkpoint.js';
import { restoreVariables } from '../checkpoint/weights.js';
import { type BackendName, type Tta, testTta } from '../config/schema.js';
import { evalBatches, toTensors } from '../data/batches.js';
import { IMAGE_BYTES, IMAGE_SIZE, type Split } from '../data/cifar10.js';
import { type DatasetChoice, classNamesOf } from '../data/datasets.js';
import { normalizationOf } from '../data/normalize.js';
import { UserError } from '../errors.js';
import { type ModelConfig, type Params, evalLogits, initParams, stateShapes } from '../model/index.js';
import { type RgbImage, readImageRgb } from '../viz/image-io.js';

/** A checkpoint's model, loaded on a backend, for running on the user's own images. */
export interface InferenceModel {
  cfg: ModelConfig;
  params: Params;
  /** The run's test TTA (train.test_tta, else eval_tta), so that predictions match what `vit eval` measures. */
  tta: Tta;
  /** The run's normalisation (data.mean, data.std). */
  normalization: Float32Array;
  /** The dataset the model was trained on (data.dataset, data.labels): its test set is the one to analyse. */
  dataset: DatasetChoice;
  classes: string[];
  backend: ActiveBackend;
  dispose(): void;
}

/** Loads a checkpoint's model; `check` (a UserError for a model the command cannot use) runs before the backend starts. */
export async function loadInferenceModel(checkpoint: string, backendFlag?: BackendName, check?: (cfg: ModelConfig) => void): Promise<InferenceModel> {
  const ckpt = await loadCheckpoint(checkpoint);
  const cfg = ckpt.config.model;
  check?.(cfg);
  // Before the backend starts (and prints), so that a mismatch is the only thing the user sees.
  checkShapes(ckpt.weights, stateShapes(cfg), `${checkpoint}/weights.safetensors`);
  // The images are read at 32×32 and resized to the model's side where data.resize says so (model/index.ts).
  const side = ckpt.config.data.resize ?? IMAGE_SIZE;
  if (cfg.image_size !== side) throw new UserError(`${checkpoint}/config.json: model.image_size ${cfg.image_size} is not the images' side ${side}`);
  const backend = await useBackend(backendFlag ?? ckpt.config.backend);
  const params = initParams(cfg, ckpt.config.seed);
  restoreVariables(params, ckpt.weights, `${checkpoint}/weights.safetensors`);
  const classes = classNamesOf(ckpt.config.data, cfg.num_classes);
  return {
    cfg,
    params,
    tta: testTta(ckpt.config.train),
    normalization: normalizationOf(ckpt.config.data),
    dataset: { dataset: ckpt.config.data.dataset, labels: ckpt.config.data.labels },
    classes,
    backend,
    dispose() {
      tf.dispose(Object.values(params));
      backend.dispose();
    },
  };
}

/** Decodes every image (all of them, so that a bad file fails before any compute) as 32×32 RGB. */
export async function readImages(paths: string[]): Promise<RgbImage[]> {
  const images: RgbImage[] = [];
  for (const path of paths) images.push(await readImageRgb(path, IMAGE_SIZE));
  return images;
}

/**
 * The images as a split, so that they go through exactly the data path `vit eval` uses
 * (evalBatches: the same normalization table, the same NHWC layout).
 */
export function imagesAsSplit(images: RgbImage[]): Split {
  const pixels = new Uint8Array(images.length * IMAGE_BYTES);
  images.forEach((image, i) => pixels.set(image.pixels, i * IMAGE_BYTES));
  return { images: pixels, labels: new Uint8Array(images.length), count: images.length };
}

/**
 * Runs `fn` on each evaluation batch of `split` (images [b, 32, 32, 3] normalized with
 * `normalization`) and returns the per-batch results in order; `fn` runs inside tf.tidy and
 * returns plain arrays.
 */
export async function mapBatches<T>(split: Split, batchSize: number, normalization: Float32Array, fn: (x: tf.Tensor4D) => tf.Tensor[]): Promise<T[][]> {
  const results: T[][] = [];
  for (const batch of evalBatches(split, batchSize, normalization)) {
    const { x, y } = toTensors(batch);
    const outputs = tf.tidy(() => fn(x));
    results.push((await Promise.all(outputs.map((t) => t.array()))) as T[]);
    tf.dispose([x, y, ...outputs]);
  }
  return results;
}

/** Class probabilities [images][classes], the softmax of the model's logits in evaluation mode (with the run's TTA). */
export async function classProbabilities(model: InferenceModel, split: Split, batchSize = 64): Promise<number[][]> {
  const batches = await mapBatches<number[][]>(split, batchSize, model.normalization, (x) => [tf.softmax(evalLogits(model.params, model.cfg, x, model.tta))]);
  return batches.flatMap(([probabilities]) => probabilities);
}
