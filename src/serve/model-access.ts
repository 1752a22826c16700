/**
 * Everything `vit serve` needs from the model code, in one place: the server and its compute
 * process import models only through this file, so that a change in how families are organised
 * is a change here alone.
 */
import type { ModelConfig } from '../config/schema.js';
import type { Split } from '../data/cifar10.js';
import { tokenMapperFor } from '../cli/attention.js';
import { type InferenceModel, classProbabilities, imagesAsSplit, loadInferenceModel, mapBatches, readImages } from '../cli/inference.js';
import { type Guess, topK } from '../cli/predict.js';
import { countParams, modelName } from '../model/family.js';
import { cctSequencePooling } from '../model/token-maps.js';

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
  const mapper = tokenMapperFor(cfg);
  return {
    family: modelName(cfg),
    params: countParams(cfg),
    attention: mapper === cctSequencePooling ? 'sequence-pooling weights' : 'attention rollout from the cls token',
  };
}

/** A checkpoint directory's model on the backend its run used (as `vit predict` loads it). */
export function loadModel(checkpoint: string): Promise<InferenceModel> {
  return loadInferenceModel(checkpoint);
}

/** Softmax probabilities [image][class] with the run's test-time augmentation: `vit predict`'s numbers. */
export function probabilities(model: InferenceModel, split: Split, batchSize: number): Promise<number[][]> {
  return classProbabilities(model, split, batchSize);
}

/** Per image, where the model looks, over its token grid (row-major, side √length); see `vit attention`. */
export async function attentionMaps(model: InferenceModel, split: Split): Promise<number[][]> {
  const mapper = tokenMapperFor(model.cfg);
  const batches = await mapBatches<number[][]>(split, 16, (x) => [mapper(model.params, model.cfg, x).weights]);
  return batches.flatMap(([weights]) => weights);
}
