/**
 * Everything `vit serve` needs from the model code, in one place: the server and its compute
 * process import models only through this file, so that a change in how families are organised
 * is a change here alone.
 */
import type { Split } from '../data/cifar10.js';
import { type InferenceModel, classProbabilities, imagesAsSplit, loadInferenceModel, mapBatches, readImages } from '../cli/inference.js';
import { type Guess, topK } from '../cli/predict.js';
import { type ModelConfig, countParams, modelName, tokenMapName, tokenMaps } from '../model/index.js';

export type { Guess, InferenceModel };
export { imagesAsSplit, readImages, topK };

export interface ModelFacts {
  /** 'ViT', 'CCT', … */
  family: string;
  params: number;
  /** What the family's map over its tokens is, in words, or null where it has none. */
  attention: string | null;
}

export function describeModel(cfg: ModelConfig): ModelFacts {
  return { family: modelName(cfg), params: countParams(cfg), attention: tokenMapName(cfg) };
}

/** A checkpoint directory's model on the backend its run used (as `vit predict` loads it). */
export function loadModel(checkpoint: string): Promise<InferenceModel> {
  return loadInferenceModel(checkpoint);
}

/** Softmax probabilities [image][class] with the run's test-time augmentation: `vit predict`'s numbers. */
export function probabilities(model: InferenceModel, split: Split, batchSize: number): Promise<number[][]> {
  return classProbabilities(model, split, batchSize);
}

/**
 * Per image, where the model looks, over its token grid (row-major, side √length); see `vit
 * attention`. Empty where the model's family has no attention to draw.
 */
export async function attentionMaps(model: InferenceModel, split: Split): Promise<number[][]> {
  if (!tokenMapName(model.cfg)) return [];
  const batches = await mapBatches<number[][]>(split, 16, model.normalization, (x) => [tokenMaps(model.params, model.cfg, x)!.weights]);
  return batches.flatMap(([weights]) => weights);
}
