import chalk from 'chalk';
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { extname } from 'node:path';
import { type Checkpoint, saveCheckpoint } from '../checkpoint/checkpoint.js';
import { fromPytorchStateDict } from '../checkpoint/pytorch.js';
import { type SafeTensor, decodeSafetensors } from '../checkpoint/safetensors.js';
import { findStateDict, readTorchFile } from '../checkpoint/torch-load.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { UserError } from '../errors.js';
import { familyOf } from '../families/index.js';
import { modelName } from '../model/index.js';
import { FRESH_STATE } from '../train/trainer.js';
import { VERSION } from '../version.js';
import { readCheckpointFile } from './export.js';
import { runAction } from './run-action.js';

interface ImportFlags {
  weights: string;
  config: string;
  out: string;
}

/** The files `torch.save` writes, by the extensions people give them. */
const TORCH_EXTENSIONS = ['.pth', '.pt', '.t7', '.bin', '.ckpt'];

export function importCommand(): Command {
  return new Command('import')
    .description('Turn PyTorch weights (a torch.save file or safetensors, in the reference module\'s state_dict names) into a checkpoint directory for eval, predict, export and train.init_from')
    .requiredOption('--weights <file>', 'a .pth/.pt/.t7/.bin file written by torch.save (a state_dict, or a dict with one under model, state_dict, net or model_state_dict), or a .safetensors file')
    .requiredOption('-c, --config <file>', 'the config whose model the weights are for, e.g. configs/k/convmixer.json')
    .requiredOption('--out <dir>', 'new checkpoint directory (must not exist)')
    .addHelpText(
      'after',
      '\nLoading is safe like torch.load(weights_only=True): only tensors, numbers, strings and dicts are read.\n' +
        '\nExample:\n  vit import --weights checkpoint/convmixer-cifar10-4-ckpt.t7 --config configs/k/convmixer.json --out checkpoints/convmixer-torch',
    )
    .action(
      runAction(async (flags: ImportFlags) => {
        const report = await importWeights(flags.weights, loadConfig(flags.config), flags.out);
        process.stdout.write(`${chalk.bold('read')} ${flags.weights}: ${report}\n${chalk.bold('wrote')} ${flags.out}\n`);
      }),
    );
}

/**
 * Reads PyTorch weights (a torch.save file, or safetensors), maps them to our names and layouts
 * for `config.model` (every tensor checked) and writes a checkpoint at `outDir`: the weights, no
 * optimizer moments, a training state at epoch 0. Nothing is written when anything is wrong.
 * Returns a line saying what was read.
 */
export async function importWeights(weightsPath: string, config: Config, outDir: string): Promise<string> {
  if (existsSync(outDir)) throw new UserError(`--out ${outDir}: already exists (import never overwrites)`);
  const bytes = await readCheckpointFile(weightsPath);
  const { stateDict, found, metadata } = readStateDict(bytes, weightsPath);
  checkConstructorArgs(metadata, config, weightsPath);
  const weights = fromPytorchStateDict(stateDict, config.model, weightsPath);
  const ckpt: Checkpoint = {
    config,
    weights: Object.fromEntries(Object.entries(weights).map(([name, t]) => [name, { shape: t.shape, data: t.data }])),
    optimizer: {},
    state: { ...FRESH_STATE },
    meta: { tool: 'vit import', version: VERSION, backend: 'none', date: new Date().toISOString(), metrics: null },
  };
  await saveCheckpoint(outDir, ckpt);
  return `${found}, ${Object.keys(stateDict).length} tensors → ${modelName(config.model)} (${familyOf(config.model).pytorch.module})`;
}

/** The state_dict in a safetensors or torch.save file, and a phrase saying where it was found. */
function readStateDict(bytes: Uint8Array, source: string): { stateDict: Record<string, SafeTensor>; found: string; metadata?: Record<string, string> } {
  const extension = extname(source).toLowerCase();
  if (extension === '.safetensors') {
    const { tensors, metadata } = decodeSafetensors(bytes, source);
    return { stateDict: tensors, found: 'a safetensors state_dict', metadata };
  }
  if (!TORCH_EXTENSIONS.includes(extension) && !(bytes[0] === 0x50 && bytes[1] === 0x4b)) {
    throw new UserError(`${source}: expected a torch.save file (${TORCH_EXTENSIONS.join(', ')}) or .safetensors`);
  }
  const { stateDict, key, unwrapped } = findStateDict(readTorchFile(bytes, source), source);
  const where = key ? `the state_dict under '${key}'` : 'a state_dict';
  return { stateDict, found: unwrapped ? `${where}, nn.DataParallel's 'module.' prefix removed` : where };
}

/**
 * A file `vit export` wrote says how PyTorch builds its model (metadata such as `cct_args`): those
 * arguments must describe the config's model, or the weights are for another shape.
 */
function checkConstructorArgs(metadata: Record<string, string> | undefined, config: Config, source: string): void {
  const call = familyOf(config.model).pytorch.constructorArgs?.(config.model);
  if (!call || !metadata?.[call.key]) return;
  const fileArgs = JSON.parse(metadata[call.key]) as Record<string, unknown>;
  for (const [key, value] of Object.entries(call.args)) {
    if (key in fileArgs && fileArgs[key] !== value) {
      throw new UserError(`${source}: metadata ${call.key}.${key} is ${JSON.stringify(fileArgs[key])}, the config's model has ${JSON.stringify(value)}`);
    }
  }
}
