import { Command, Option } from 'commander';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { checkWeights, toPytorchStateDict } from '../checkpoint/pytorch.js';
import { decodeSafetensors, encodeSafetensors } from '../checkpoint/safetensors.js';
import { parseConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { classNamesOf } from '../data/datasets.js';
import { UserError } from '../errors.js';
import { onnxModel } from '../onnx/model.js';
import { writeFileAtomic } from '../util/atomic.js';
import { runAction } from './run-action.js';

/** What `vit export` writes, by the extension of --out (or --format), and who reads it. */
const FORMATS = {
  safetensors: 'PyTorch',
  onnx: 'ONNX Runtime and other ONNX readers',
} as const;
export type ExportFormat = keyof typeof FORMATS;
const FORMAT_NAMES = Object.keys(FORMATS) as ExportFormat[];

export function exportCommand(): Command {
  return new Command('export')
    .description("Write a checkpoint's model as a PyTorch state_dict (.safetensors) or an ONNX model (.onnx); see docs/checkpoint.md")
    .requiredOption('--checkpoint <dir>', 'checkpoint directory')
    .requiredOption('--out <file>', 'output file: .safetensors or .onnx')
    .addOption(new Option('--format <format>', 'the format, if --out does not say it by its extension').choices(FORMAT_NAMES))
    .addHelpText(
      'after',
      '\nFormats:\n  .safetensors  the weights as the reference PyTorch module\'s state_dict (each family\'s; docs/checkpoint.md)\n' +
        '  .onnx         the whole model, weights and pixel normalisation inside: RGB 0-255 in, logits out\n' +
        '\nExample:\n  vit export --checkpoint checkpoints/cpu-1h/best --out cct.onnx',
    )
    .action(
      runAction(async (opts: { checkpoint: string; out: string; format?: ExportFormat }) => {
        await exportCheckpoint(opts.checkpoint, opts.out, exportFormat(opts.out, opts.format));
        process.stdout.write(`wrote ${opts.out}\n`);
      }),
    );
}

/**
 * The format to write `outPath` in: `flag` (--format) if given, else the extension's. An
 * extension that names no format, or another format than the flag, is an error naming the formats.
 */
export function exportFormat(outPath: string, flag?: ExportFormat): ExportFormat {
  const extension = extname(outPath).slice(1).toLowerCase();
  const known = (FORMAT_NAMES as string[]).includes(extension) ? (extension as ExportFormat) : null;
  if (flag && known && known !== flag) throw new UserError(`--out ${outPath} is a .${known} file name, but --format is ${flag}: change one of them`);
  if (flag) return flag;
  if (known) return known;
  const formats = FORMAT_NAMES.map((f) => `.${f} (${FORMATS[f]})`).join(' or ');
  throw new UserError(`--out ${outPath}: ${extension ? `unknown extension .${extension}` : 'no extension'}; vit export writes ${formats}, or give --format ${FORMAT_NAMES.join('|')}`);
}

/**
 * Reads `DIR/config.json` (the run's resolved config) and `DIR/weights.safetensors` (our names)
 * and writes `outPath`, atomically: the weights under the PyTorch model's names and layouts
 * (safetensors), or the model as an ONNX graph. On any error nothing is written.
 */
export async function exportCheckpoint(checkpointDir: string, outPath: string, format = exportFormat(outPath)): Promise<void> {
  const config = await readRunConfig(join(checkpointDir, 'config.json'));
  const cfg = config.model;
  const weightsPath = join(checkpointDir, 'weights.safetensors');
  const bytes = await readCheckpointFile(weightsPath);
  const { tensors } = decodeSafetensors(bytes, weightsPath);
  checkWeights(tensors, cfg, weightsPath);
  if (format === 'onnx') {
    const metadata = {
      classes: JSON.stringify(classNamesOf(config.data, cfg.num_classes)),
      checkpoint: checkpointDir,
      checkpoint_weights_sha256: createHash('sha256').update(bytes).digest('hex'),
      model_config: JSON.stringify(cfg),
      normalization: JSON.stringify({ mean: config.data.mean, std: config.data.std }),
    };
    await writeFileAtomic(outPath, onnxModel(tensors, cfg, config.data, metadata));
    return;
  }
  const { stateDict, metadata } = toPytorchStateDict(tensors, cfg);
  metadata.normalization = JSON.stringify({ mean: config.data.mean, std: config.data.std });
  await writeFileAtomic(outPath, encodeSafetensors(stateDict, metadata));
}

/** A checkpoint's config.json: the run's resolved config. */
async function readRunConfig(path: string): Promise<Config> {
  let json: unknown;
  try {
    json = JSON.parse((await readCheckpointFile(path)).toString());
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  return parseConfig(json, path);
}

export async function readCheckpointFile(path: string): Promise<Buffer> {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UserError(`${path}: not found (--checkpoint must be a checkpoint directory)`);
    }
    throw err;
  }
}
