import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';

/**
 * What the Checkpoint view shows of a checkpoint's test: either `vit eval --json`'s object, saved
 * beside the weights as `<checkpoint>/eval.json`, or the same numbers computed by `vit serve`.
 */
export interface EvalReport {
  accuracy: number;
  loss: number;
  images: number;
  tta: string;
  classes: string[];
  /** confusion[true class][predicted class] = count. */
  confusion: number[][];
  perClass: number[];
  source: 'eval.json' | 'computed';
}

/** The keys of `vit eval --json` this reads (it has more). */
const EvalJson = z.object({
  accuracy: z.number(),
  loss: z.number(),
  images: z.number().int().positive(),
  tta: z.string().default('none'),
  classes: z.array(z.string()).min(1),
  confusion: z.array(z.array(z.number().int().nonnegative())),
  per_class: z.record(z.string(), z.number().nullable()),
});

export const EVAL_FILE = 'eval.json';

/** `<checkpoint>/eval.json`, or null when there is none; a file that is not `vit eval --json`'s output is an error naming it. */
export async function readEvalReport(checkpointDir: string): Promise<EvalReport | null> {
  let text: string;
  try {
    text = await readFile(join(checkpointDir, EVAL_FILE), 'utf8');
  } catch {
    return null;
  }
  let parsed;
  try {
    parsed = EvalJson.parse(JSON.parse(text));
  } catch {
    throw new Error(`${EVAL_FILE}: not the output of vit eval --json`);
  }
  const n = parsed.classes.length;
  if (parsed.confusion.length !== n || parsed.confusion.some((row) => row.length !== n)) throw new Error(`${EVAL_FILE}: its confusion matrix is not ${n}×${n}`);
  return {
    accuracy: parsed.accuracy,
    loss: parsed.loss,
    images: parsed.images,
    tta: parsed.tta,
    classes: parsed.classes,
    confusion: parsed.confusion,
    perClass: parsed.classes.map((c) => parsed.per_class[c] ?? NaN),
    source: 'eval.json',
  };
}
