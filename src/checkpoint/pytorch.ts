import type { SafeTensor } from './safetensors.js';
import { UserError } from '../errors.js';
import { familyOf } from '../families/index.js';
import { isBatchCount } from '../layers/batch-norm.js';
import { type ModelConfig, stateShapes } from '../model/index.js';
import { inversePermutation, permuted } from './layout.js';

/**
 * Our weights ↔ the reference PyTorch module's state_dict, for every family: the names come from
 * the family (`family.pytorch`), the layouts from the tensors' ranks — conv weights are ours
 * [kh, kw, in, out] and PyTorch's [out, in, kh, kw] (a depthwise conv, ours [k, k, 1, C], is
 * PyTorch's [C, 1, k, k]), Linear weights ours [in, out] and PyTorch's [out, in]; everything else
 * is stored alike, unless the family's `pytorch.permutation` says otherwise (MLP-Mixer's Conv1d
 * kernels). BatchNorm's batch count is int64 in PyTorch, float32 here.
 */
export const CONV_TO_PYTORCH = [3, 2, 0, 1];
export const LINEAR_TO_PYTORCH = [1, 0];

/** How our tensor of rank `rank` is laid out in PyTorch (null: the same). */
export function pytorchPermutation(rank: number): number[] | null {
  return rank === 4 ? CONV_TO_PYTORCH : rank === 2 ? LINEAR_TO_PYTORCH : null;
}

/** Our weights (checked against the config first) as the PyTorch module's state_dict, plus safetensors metadata describing it. */
export function toPytorchStateDict(weights: Record<string, SafeTensor>, cfg: ModelConfig): { stateDict: Record<string, SafeTensor>; metadata: Record<string, string> } {
  const { pytorch } = familyOf(cfg);
  pytorch.checkExportable?.(cfg);
  const stateDict: Record<string, SafeTensor> = { ...pytorch.constants?.(cfg) };
  for (const name of Object.keys(stateShapes(cfg))) {
    const tensor = weights[name] as SafeTensor & { dtype: 'F32' };
    const perm = pytorch.permutation?.(name) ?? pytorchPermutation(tensor.shape.length);
    const torchName = pytorch.name(name, cfg);
    if (isBatchCount(name)) stateDict[torchName] = { dtype: 'I64', shape: tensor.shape, data: BigInt64Array.from(tensor.data, (v) => BigInt(Math.round(v))) };
    else stateDict[torchName] = perm ? permuted(tensor, perm) : tensor;
  }
  // format=pt is what safetensors.torch writes; the model config says how to build the model.
  const metadata: Record<string, string> = { format: 'pt', model_config: JSON.stringify(cfg) };
  const call = pytorch.constructorArgs?.(cfg);
  if (call) metadata[call.key] = JSON.stringify(call.args);
  return { stateDict, metadata };
}

/**
 * A PyTorch state_dict → our weights (names and layouts) for `cfg`. Every tensor is accounted for:
 * a missing one, an unknown one, a non-float tensor or a shape other than the config's is a
 * UserError naming the tensor and `source`. Tensors the family rebuilds (constants) are checked
 * for shape and dropped.
 */
export function fromPytorchStateDict(stateDict: Record<string, SafeTensor>, cfg: ModelConfig, source: string): Record<string, SafeTensor & { dtype: 'F32' }> {
  const { pytorch } = familyOf(cfg);
  const expected = new Map<string, { ours: string; shape: number[]; perm: number[] | null }>();
  for (const [ours, shape] of Object.entries(stateShapes(cfg))) {
    const perm = pytorch.permutation?.(ours) ?? pytorchPermutation(shape.length);
    expected.set(pytorch.name(ours, cfg), { ours, shape, perm: perm && inversePermutation(perm) });
  }
  for (const [name, tensor] of Object.entries(pytorch.constants?.(cfg) ?? {})) expected.set(name, { ours: '', shape: tensor.shape, perm: null });

  const unknown = Object.keys(stateDict).filter((name) => !expected.has(name));
  const missing = [...expected.keys()].filter((name) => !(name in stateDict));
  if (unknown.length > 0 || missing.length > 0) {
    const parts = [missing.length > 0 ? `missing tensors ${list(missing)}` : '', unknown.length > 0 ? `unexpected tensors ${list(unknown)} (not in the ${cfg.name} model of this config)` : ''];
    throw new UserError(`${source}: ${parts.filter(Boolean).join('; ')}`);
  }

  const weights: Record<string, SafeTensor & { dtype: 'F32' }> = {};
  for (const [name, { ours, shape, perm }] of expected) {
    const tensor = stateDict[name];
    const count = ours !== '' && isBatchCount(ours);
    if (tensor.dtype !== 'F32' && !count) throw new UserError(`${source}: ${name} is ${tensor.dtype}, expected a float tensor`);
    // The shape PyTorch stores is ours permuted by the forward permutation.
    const torchShape = perm ? inversePermutation(perm).map((axis) => shape[axis]) : shape;
    if (tensor.shape.join() !== torchShape.join()) {
      throw new UserError(`${source}: ${name} has shape [${tensor.shape}], the model config needs [${torchShape}]`);
    }
    if (ours === '') continue; // rebuilt from the config, not read
    const data = tensor.dtype === 'F32' ? tensor.data : Float32Array.from(tensor.data as ArrayLike<number | bigint>, Number);
    const asFloat = { dtype: 'F32' as const, shape: tensor.shape, data };
    weights[ours] = perm ? (permuted(asFloat, perm) as SafeTensor & { dtype: 'F32' }) : asFloat;
  }
  return weights;
}

/**
 * Throws a UserError naming `source` unless `weights` (read from a checkpoint) are exactly this
 * config's parameters and buffers: the same names, float32, the same shapes.
 */
export function checkWeights(weights: Record<string, SafeTensor>, cfg: ModelConfig, source: string): void {
  const expected = stateShapes(cfg);
  const missing = Object.keys(expected).filter((name) => !(name in weights));
  const unexpected = Object.keys(weights).filter((name) => !(name in expected));
  if (missing.length > 0) throw new UserError(`${source}: missing weights ${list(missing)}`);
  if (unexpected.length > 0) throw new UserError(`${source}: unexpected weights ${list(unexpected)}`);
  for (const [name, shape] of Object.entries(expected)) {
    const { dtype, shape: actual } = weights[name];
    if (dtype !== 'F32') throw new UserError(`${source}: ${name} is ${dtype}, expected F32`);
    if (actual.join() !== shape.join()) throw new UserError(`${source}: ${name} has shape [${actual}], the model config needs [${shape}]`);
  }
}

function list(names: string[]): string {
  return names.length > 4 ? `${names.slice(0, 4).join(', ')} and ${names.length - 4} more` : names.join(', ');
}
