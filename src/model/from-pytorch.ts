import type { SafeTensor } from '../checkpoint/safetensors.js';
import type { ModelConfig } from '../config/schema.js';
import { UserError } from '../errors.js';
import { cctFrozenTensors, cctPytorchName, pytorchPermutation } from './cct-pytorch.js';
import { isCct, paramShapes } from './family.js';
import { inversePermutation, permuted } from './layout.js';
import { pytorchName as vitPytorchName } from './pytorch.js';

/**
 * A PyTorch state_dict (vit-pytorch's ViT or SHI-Labs' CCT, by `cfg.name`) → our parameters,
 * names and layouts. Every tensor is accounted for: a missing one, an unknown one, a dtype other
 * than F32 or a shape other than the config's is a UserError naming the tensor and `source`.
 */
export function fromPytorchStateDict(stateDict: Record<string, SafeTensor>, cfg: ModelConfig, source: string): Record<string, SafeTensor> {
  const torchName = isCct(cfg) ? cctPytorchName : vitPytorchName;
  const frozen = isCct(cfg) ? cctFrozenTensors(cfg) : {};
  const expected = new Map<string, { ours: string; shape: number[]; perm: number[] | null }>();
  for (const [ours, shape] of Object.entries(paramShapes(cfg))) {
    const perm = pytorchPermutation(shape.length);
    expected.set(torchName(ours), { ours, shape, perm: perm && inversePermutation(perm) });
  }
  for (const [name, tensor] of Object.entries(frozen)) expected.set(name, { ours: '', shape: tensor.shape, perm: null });

  const unknown = Object.keys(stateDict).filter((name) => !expected.has(name));
  if (unknown.length > 0) throw new UserError(`${source}: unexpected tensors ${list(unknown)} (not in the ${cfg.name ?? 'vit'} model of this config)`);
  const missing = [...expected.keys()].filter((name) => !(name in stateDict));
  if (missing.length > 0) throw new UserError(`${source}: missing tensors ${list(missing)}`);

  const weights: Record<string, SafeTensor> = {};
  for (const [name, { ours, shape, perm }] of expected) {
    const tensor = stateDict[name];
    if (tensor.dtype !== 'F32') throw new UserError(`${source}: ${name} is ${tensor.dtype}, expected F32`);
    // The shape PyTorch stores is ours permuted by the forward permutation.
    const torchShape = perm ? inversePermutation(perm).map((axis) => shape[axis]) : shape;
    if (tensor.shape.join() !== torchShape.join()) {
      throw new UserError(`${source}: ${name} has shape [${tensor.shape}], the model config needs [${torchShape}]`);
    }
    if (ours) weights[ours] = perm ? permuted(tensor, perm) : tensor; // frozen tables are rebuilt, not read
  }
  return weights;
}

function list(names: string[]): string {
  return names.length > 4 ? `${names.slice(0, 4).join(', ')} and ${names.length - 4} more` : names.join(', ');
}
