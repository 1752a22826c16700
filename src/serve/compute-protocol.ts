import type { EvalReport } from './eval-report.js';
import type { Guess } from './model-access.js';

/** What the server asks of its compute process (compute-child.ts); one message per job. */
export type ComputeRequest =
  | { id: number; kind: 'analyze'; checkpoint: string; dataDir: string; limitTest: number | null; batchSize: number }
  | { id: number; kind: 'predict'; checkpoint: string; file: string };

export type ComputeReply =
  | { id: number; type: 'progress'; done: number; total: number }
  | { id: number; type: 'result'; result: AnalysisResult | PredictResult }
  | { id: number; type: 'error'; message: string };

/** A test image the checkpoint gets wrong, with what it thought. */
export interface WrongImage {
  /** Index in the CIFAR-10 test set. */
  index: number;
  label: string;
  top: Guess[];
  /** The 32×32 image as a PNG data URL. */
  image: string;
  /** Where the model looks, over its token grid (row-major, side √length); null where the family has no map. */
  map: number[] | null;
}

export interface AnalysisResult {
  report: EvalReport;
  /** The misclassified test images it was most sure of, most sure first. */
  mostWrong: WrongImage[];
  /** What the maps are, in words ("attention rollout from the cls token"), or null. */
  attention: string | null;
}

export interface PredictResult {
  /** The five most probable classes, best first, as `vit predict --top 5` gives them. */
  top: Guess[];
  /** The 32×32 input the model saw, as a PNG data URL. */
  input: string;
  map: number[] | null;
  attention: string | null;
}

/** How many misclassified images the Checkpoint view shows. */
export const MOST_WRONG = 12;
