import { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors } from '../checkpoint/safetensors.js';
import { ConfigSchema, type ModelConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { checkWeights, toPytorch } from '../model/family.js';
import { writeFileAtomic } from '../util/atomic.js';
import { runAction } from './run-action.js';

export function exportCommand(): Command {
  return new Command('export')
    .description("Write a checkpoint's weights as a PyTorch state_dict (safetensors): vit-pytorch's ViT or SHI-Labs' CCT; see docs/checkpoint.md")
    .requiredOption('--checkpoint <dir>', 'checkpoint directory')
    .requiredOption('--out <file>', 'output file (.safetensors)')
    .action(
      runAction(async (opts: { checkpoint: string; out: string }) => {
        await exportCheckpoint(opts.checkpoint, opts.out);
        process.stdout.write(`wrote ${opts.out}\n`);
      }),
    );
}

/**
 * Reads `DIR/config.json` (the run's resolved config) and `DIR/weights.safetensors` (our names),
 * writes the weights under the PyTorch model's names and layouts to `outPath`, atomically.
 */
export async function exportCheckpoint(checkpointDir: string, outPath: string): Promise<void> {
  const cfg = await readModelConfig(join(checkpointDir, 'config.json'));
  const weightsPath = join(checkpointDir, 'weights.safetensors');
  const { tensors } = decodeSafetensors(await readCheckpointFile(weightsPath), weightsPath);
  checkWeights(tensors, cfg, weightsPath);
  const { stateDict, metadata } = toPytorch(tensors, cfg);
  await writeFileAtomic(outPath, encodeSafetensors(stateDict, metadata));
}

export async function readModelConfig(path: string): Promise<ModelConfig> {
  let json: unknown;
  try {
    json = JSON.parse((await readCheckpointFile(path)).toString());
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: not valid JSON (${(err as Error).message})`);
  }
  const model = (json as { model?: unknown } | null)?.model;
  if (typeof model !== 'object' || model === null) throw new UserError(`${path}: expected a "model" object`);
  const parsed = ConfigSchema.shape.model.safeParse(model);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UserError(`${path}: model.${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
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
