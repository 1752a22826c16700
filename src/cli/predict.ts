import chalk from 'chalk';
import { Command, InvalidArgumentError } from 'commander';
import type { BackendName } from '../config/schema.js';
import { backendOption } from './common-options.js';
import { classProbabilities, imagesAsSplit, loadInferenceModel, readImages } from './inference.js';
import { runAction } from './run-action.js';

interface PredictFlags {
  checkpoint: string;
  top: number;
  json?: boolean;
  backend?: BackendName;
}

export interface Guess {
  label: string;
  index: number;
  probability: number;
}

export function predictCommand(): Command {
  return new Command('predict')
    .description('classify your own PNG or JPEG images with a checkpoint: the top classes and their probabilities')
    .argument('<image...>', 'PNG or JPEG files, any size (centre-cropped to a square and resized to 32×32)')
    .requiredOption('--checkpoint <dir>', 'checkpoint directory, e.g. checkpoints/smoke/best')
    .option('--top <k>', 'how many classes to show per image', positiveInt, 3)
    .option('--json', 'print one JSON array: per image, {file, top: [{label, index, probability}]}, best first')
    .addOption(backendOption())
    .addHelpText('after', '\nExample:\n  vit predict --checkpoint checkpoints/cpu-1h/best photo.jpg cat.png --top 5')
    .action(runAction(runPredict));
}

async function runPredict(files: string[], flags: PredictFlags): Promise<void> {
  const images = await readImages(files);
  const model = await loadInferenceModel(flags.checkpoint, flags.backend);
  let probabilities: number[][];
  try {
    probabilities = await classProbabilities(model, imagesAsSplit(images));
  } finally {
    model.dispose();
  }
  const results = files.map((file, i) => ({ file, top: topK(probabilities[i], model.classes, flags.top) }));
  if (flags.json) {
    console.log(JSON.stringify(results));
    return;
  }
  console.log(renderTable(results, Math.min(flags.top, model.classes.length)));
}

/** The k most probable classes, best first (ties: the lower index first, as argMax picks it). */
export function topK(probabilities: number[], classes: string[], k: number): Guess[] {
  return probabilities
    .map((probability, index) => ({ label: classes[index], index, probability }))
    .sort((a, b) => b.probability - a.probability || a.index - b.index)
    .slice(0, k);
}

function renderTable(results: { file: string; top: Guess[] }[], k: number): string {
  const fileWidth = Math.max(4, ...results.map((r) => r.file.length));
  const cell = (g: Guess) => `${g.label} ${(100 * g.probability).toFixed(1)}%`;
  const cellWidth = Math.max(...results.flatMap((r) => r.top.map((g) => cell(g).length)), 8);
  const header = ['file'.padEnd(fileWidth), ...Array.from({ length: k }, (_, i) => `#${i + 1}`.padEnd(cellWidth))].join('  ');
  const rows = results.map((r) => [r.file.padEnd(fileWidth), ...r.top.map((g, i) => (i === 0 ? chalk.cyan : (s: string) => s)(cell(g).padEnd(cellWidth)))].join('  '));
  return [chalk.bold(header.trimEnd()), ...rows.map((row) => row.trimEnd())].join('\n');
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}
