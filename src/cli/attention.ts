import * as tf from '@tensorflow/tfjs';
import chalk from 'chalk';
import { Command } from 'commander';
import { basename, extname } from 'node:path';
import type { BackendName } from '../config/schema.js';
import { UserError } from '../errors.js';
import { FAMILIES } from '../families/index.js';
import { modelForward, modelName, tokenMapName, tokenMaps } from '../model/index.js';
import { writeFileAtomic } from '../util/atomic.js';
import { type AttentionPanel, attentionFigure } from '../viz/attention-figure.js';
import { backendOption } from './common-options.js';
import { imagesAsSplit, loadInferenceModel, mapBatches, readImages } from './inference.js';
import { runAction } from './run-action.js';

interface AttentionFlags {
  checkpoint: string;
  out: string;
  layers?: boolean;
  backend?: BackendName;
}

export function attentionCommand(): Command {
  return new Command('attention')
    .description("draw where the model looks: each image beside a heatmap of its attention rollout from the cls token (ViT) or its sequence-pooling weights (CCT)")
    .argument('<image...>', 'PNG or JPEG files, any size (centre-cropped to a square and resized to 32×32)')
    .requiredOption('--checkpoint <dir>', 'checkpoint directory, e.g. checkpoints/smoke/best')
    .requiredOption('--out <file.png>', 'the PNG to write')
    .option('--layers', 'also draw every layer\'s and head\'s attention from the cls token, as a grid (ViT)')
    .addOption(backendOption())
    .addHelpText('after', '\nExample:\n  vit attention --checkpoint checkpoints/cpu-1h/best cat.png ship.jpg --out attention.png --layers')
    .action(runAction(runAttention));
}

/** The registry's families that have a token map to draw, e.g. "'vit', 'cct'". */
const ATTENTION_FAMILIES = FAMILIES.filter((f) => f.tokenMap).map((f) => `'${f.name}'`).join(', ');

async function runAttention(files: string[], flags: AttentionFlags): Promise<void> {
  if (extname(flags.out).toLowerCase() !== '.png') throw new UserError(`--out ${flags.out}: expected a file ending in .png`);
  // The model first: a family without attention is the answer whatever the images are.
  const model = await loadInferenceModel(flags.checkpoint, flags.backend, (cfg) => {
    if (!tokenMapName(cfg)) throw new UserError(`${flags.checkpoint}: ${modelName(cfg)} has no attention to draw (vit attention is for the families with attention: model.name ${ATTENTION_FAMILIES})`);
  });
  const images = await readImages(files).catch((err: unknown) => {
    model.dispose();
    throw err;
  });
  let results: { weights: number[][]; heads: number[][][][] | null; probabilities: number[][] }[];
  try {
    results = (await mapBatches<number[][] | number[][][][]>(imagesAsSplit(images), 16, model.normalization, (x) => {
      const { weights, heads } = tokenMaps(model.params, model.cfg, x)!;
      const probabilities = tf.softmax(modelForward(model.params, model.cfg, x, { training: false }));
      return heads ? [weights, probabilities, heads] : [weights, probabilities];
    })).map(([weights, probabilities, heads]) => ({
      weights: weights as number[][],
      probabilities: probabilities as number[][],
      heads: (heads as number[][][][] | undefined) ?? null,
    }));
  } finally {
    model.dispose();
  }
  const weights = results.flatMap((r) => r.weights);
  const probabilities = results.flatMap((r) => r.probabilities);
  const heads = results.flatMap((r) => r.heads ?? []);
  const panels: AttentionPanel[] = files.map((file, i) => {
    const best = probabilities[i].indexOf(Math.max(...probabilities[i]));
    return {
      title: `${shorten(basename(file), 24)}: ${model.classes[best]} ${(100 * probabilities[i][best]).toFixed(1)}%`,
      image: images[i],
      map: weights[i],
      heads: flags.layers && heads.length ? heads[i] : undefined,
    };
  });
  await writeFileAtomic(flags.out, await attentionFigure(panels));
  console.log(`${chalk.bold('attention')} of ${files.length} image${files.length === 1 ? '' : 's'} written to ${flags.out}`);
}

function shorten(name: string, max: number): string {
  return name.length <= max ? name : `${name.slice(0, max - 1)}…`;
}
