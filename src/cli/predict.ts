import chalk from 'chalk';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { BackendName } from '../config/schema.js';
import type { RgbImage } from '../viz/image-io.js';
import { UserError } from '../errors.js';
import { loadOnnxClassifier } from '../onnx/runtime.js';
import { backendOption } from './common-options.js';
import { classProbabilities, imagesAsSplit, loadInferenceModel, readImages } from './inference.js';
import { runAction } from './run-action.js';

interface PredictFlags {
  checkpoint?: string;
  model?: string;
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
    .description('classify your own PNG or JPEG images with a checkpoint or an exported .onnx file: the top classes and their probabilities')
    .argument('<image...>', 'PNG or JPEG files, any size (centre-cropped to a square and resized to 32×32)')
    .option('--checkpoint <dir>', 'checkpoint directory, e.g. checkpoints/smoke/best')
    .addOption(new Option('--model <file.onnx>', 'an ONNX file written by vit export, run by ONNX Runtime (onnxruntime-node), instead of a checkpoint').conflicts(['checkpoint', 'backend']))
    .option('--top <k>', 'how many classes to show per image', positiveInt, 3)
    .option('--json', 'print one JSON array: per image, {file, top: [{label, index, probability}]}, best first')
    .addOption(backendOption())
    .addHelpText('after', '\nExamples:\n  vit predict --checkpoint checkpoints/cpu-1h/best photo.jpg cat.png --top 5\n  vit predict --model cct.onnx photo.jpg')
    .action(runAction(runPredict));
}

async function runPredict(files: string[], flags: PredictFlags): Promise<void> {
  if (!flags.checkpoint && !flags.model) throw new UserError('give --checkpoint DIR or --model FILE.onnx');
  const images = await readImages(files);
  const { classes, probabilities } = flags.model ? await onnxProbabilities(flags.model, images) : await checkpointProbabilities(flags.checkpoint!, images, flags.backend);
  const results = files.map((file, i) => ({ file, top: topK(probabilities[i], classes, flags.top) }));
  if (flags.json) {
    console.log(JSON.stringify(results));
    return;
  }
  console.log(renderTable(results, Math.min(flags.top, classes.length)));
}

/** With the run's TTA, as `vit eval` measured the checkpoint. */
async function checkpointProbabilities(checkpoint: string, images: RgbImage[], backend?: BackendName): Promise<{ classes: string[]; probabilities: number[][] }> {
  const model = await loadInferenceModel(checkpoint, backend);
  try {
    return { classes: model.classes, probabilities: await classProbabilities(model, imagesAsSplit(images)) };
  } finally {
    model.dispose();
  }
}

/** The graph's logits as they are: a file written by vit export has no TTA inside. */
async function onnxProbabilities(path: string, images: RgbImage[]): Promise<{ classes: string[]; probabilities: number[][] }> {
  const model = await loadOnnxClassifier(path);
  try {
    return { classes: model.classes, probabilities: (await model.logits(images.map((image) => image.pixels))).map(softmax) };
  } finally {
    await model.dispose();
  }
}

function softmax(logits: number[]): number[] {
  const max = Math.max(...logits);
  const exps = logits.map((v) => Math.exp(v - max));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / sum);
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
