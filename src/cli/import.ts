import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { type Checkpoint, saveCheckpoint } from '../checkpoint/checkpoint.js';
import { decodeSafetensors } from '../checkpoint/safetensors.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { UserError } from '../errors.js';
import { cctArgs } from '../model/cct-pytorch.js';
import { isCct } from '../model/family.js';
import { fromPytorchStateDict } from '../model/from-pytorch.js';
import { FRESH_STATE } from '../train/trainer.js';
import { VERSION } from '../version.js';
import { readCheckpointFile } from './export.js';
import { runAction } from './run-action.js';

interface ImportFlags {
  weights: string;
  config: string;
  out: string;
}

export function importCommand(): Command {
  return new Command('import')
    .description("Turn a PyTorch state_dict (safetensors; vit-pytorch ViT or SHI-Labs CCT names) into a checkpoint directory for eval, export and train.init_from")
    .requiredOption('--weights <file>', 'PyTorch weights (.safetensors), e.g. from `vit export` or safetensors.torch.save_file')
    .requiredOption('-c, --config <file>', 'the config whose model the weights are for, e.g. configs/cct-2_3x2.json')
    .requiredOption('--out <dir>', 'new checkpoint directory (must not exist)')
    .action(
      runAction(async (flags: ImportFlags) => {
        await importWeights(flags.weights, loadConfig(flags.config), flags.out);
        process.stdout.write(`wrote ${flags.out}\n`);
      }),
    );
}

/**
 * Reads a PyTorch state_dict, maps it to our names and layouts for `config.model` (every tensor
 * checked) and writes a checkpoint at `outDir`: the weights, no optimizer moments, a training
 * state at epoch 0. Nothing is written when anything is wrong.
 */
export async function importWeights(weightsPath: string, config: Config, outDir: string): Promise<void> {
  if (existsSync(outDir)) throw new UserError(`--out ${outDir}: already exists (import never overwrites)`);
  const { tensors, metadata } = decodeSafetensors(await readCheckpointFile(weightsPath), weightsPath);
  if (isCct(config.model) && metadata.cct_args) checkCctArgs(JSON.parse(metadata.cct_args), config, weightsPath);
  const weights = fromPytorchStateDict(tensors, config.model, weightsPath);
  const ckpt: Checkpoint = {
    config,
    weights: Object.fromEntries(Object.entries(weights).map(([name, t]) => [name, { shape: t.shape, data: t.data as Float32Array }])),
    optimizer: {},
    state: { ...FRESH_STATE },
    meta: { tool: 'vit import', version: VERSION, backend: 'none', date: new Date().toISOString(), metrics: null },
  };
  await saveCheckpoint(outDir, ckpt);
}

/** The file's `cct_args` metadata (SHI-Labs' constructor arguments) must describe the config's model. */
function checkCctArgs(fileArgs: Record<string, unknown>, config: Config, source: string): void {
  if (!isCct(config.model)) return;
  for (const [key, value] of Object.entries(cctArgs(config.model))) {
    if (key in fileArgs && fileArgs[key] !== value) {
      throw new UserError(`${source}: metadata cct_args.${key} is ${JSON.stringify(fileArgs[key])}, the config's model has ${JSON.stringify(value)}`);
    }
  }
}
