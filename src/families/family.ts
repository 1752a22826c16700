import type * as tf from '@tensorflow/tfjs';
import type { z } from 'zod';
import type { SafeTensor } from '../checkpoint/safetensors.js';
import type { Split } from '../data/cifar10.js';
import type { Params } from '../layers/params.js';
import type { GraphBuilder } from '../onnx/graph.js';

/**
 * A model family: everything vit knows about one architecture, in one folder
 * (src/families/<name>/), exported as one object that the registry (index.ts) lists. The rest of
 * the program reaches a family only through src/model/index.ts, which picks it by `model.name`.
 *
 * `C` is the family's resolved model config (its `schema`'s output). Names are our parameter
 * names; shapes follow our layouts (Linear [in, out], conv [kh, kw, in, out]).
 */
export interface Family<C extends { name: string } = { name: string }> {
  /** `model.name` in a config. */
  readonly name: C['name'];
  /** The model keys, a strict object with `name` a literal; defaults filled in. */
  readonly schema: z.ZodType<C>;
  /**
   * Fills defaults that depend on other keys (the CCT's dim_head = dim / heads) in a raw model
   * config before the schema reads it; a config of an older version may be brought up to date here.
   */
  prepare?(raw: Record<string, unknown>, issue: (key: string, message: string) => void): Record<string, unknown>;
  /** How people call this model, e.g. "ViT", "ConvMixer-256/16", "ResNet-18". */
  title(cfg: C): string;

  /** Every trained parameter's name and shape, in the fixed order init draws its seeds in. */
  paramShapes(cfg: C): Record<string, number[]>;
  /** State that is not trained but saved with the weights (BatchNorm's running statistics). */
  bufferShapes?(cfg: C): Record<string, number[]>;
  /** Fresh parameters and buffers, as the reference implementation initialises them, from `seed`. */
  init(cfg: C, seed: number): Params;
  /**
   * Data-dependent initialisation before training starts (the CCT's patch whitening), from
   * `train` (never the validation images) normalised with `normalization` (data/normalize.ts).
   */
  initFromData?(params: Params, cfg: C, data: { train: Split; seed: number; normalization: Float32Array }): void;
  /** Parameters no optimizer step may change (the CCT's frozen whitened conv). */
  frozen?(cfg: C): string[];

  /** NHWC images [b, s, s, 3] → logits [b, num_classes]. */
  forward(params: Params, cfg: C, images: tf.Tensor4D, opts: ForwardOptions): tf.Tensor2D;
  /** Which parameters weight decay applies to. */
  isDecayed(name: string): boolean;
  /** Which parameters Muon trains (optimizer.name 'muon'): the hidden layers' weight matrices. */
  isHiddenMatrix(name: string): boolean;

  /** The number of trained values in closed form (a test checks it against paramShapes). */
  countParams(cfg: C): number;
  /** Forward FLOPs per image: 2 · the multiply-accumulates of its products and convolutions. */
  forwardFlops(cfg: C): number;

  /** The reference PyTorch module's state_dict names (see src/checkpoint/pytorch.ts). */
  readonly pytorch: PytorchModule<C>;
  /** The model in evaluation mode as ONNX nodes: normalised NCHW images → logits (src/onnx/model.ts). */
  onnx(g: GraphBuilder, images: string, weights: Record<string, SafeTensor>, cfg: C): string;
  /** Where the model looks, for `vit attention` and `vit serve`; absent: the family has no attention to draw. */
  readonly tokenMap?: {
    /** What the map is, in words ("attention rollout from the cls token"), or that as the config decides it. */
    what: string | ((cfg: C) => string);
    map(params: Params, cfg: C, images: tf.Tensor4D): TokenMaps;
  };
}

export interface ForwardOptions {
  training: boolean;
  /** A training pass's seed, from which every dropout mask is drawn (so a replayed step is identical). */
  seed?: number;
  /**
   * Training passes of families with buffers put their new values here (BatchNorm's running
   * statistics, as PyTorch updates them in its forward pass), kept out of the pass's tidy; the
   * caller assigns them after the step (train/train-step.ts) or disposes them.
   */
  bufferUpdates?: Record<string, tf.Tensor>;
}

/**
 * Where a model looks, per image, over its grid of tokens (row-major, side √tokens).
 * `weights` [b, tokens] sums to 1 per image; `heads` [b, layers, heads, tokens], when the family
 * has them, is each layer's and head's raw attention from the pooled query to the patches.
 */
export interface TokenMaps {
  weights: tf.Tensor2D;
  heads?: tf.Tensor4D;
}

/** How a family's parameters meet the reference PyTorch module's state_dict. */
export interface PytorchModule<C> {
  /** The module the names are those of, e.g. "ConvMixer of kentaroy47/vision-transformers-cifar10 (models/convmixer.py)". */
  readonly module: string;
  /** The state_dict key of our tensor `ours`. */
  name(ours: string, cfg: C): string;
  /**
   * PyTorch's layout of our tensor `ours` where its rank does not say it (src/checkpoint/pytorch.ts
   * goes by rank: Linear, conv): a Conv1d kernel, ours [k, in, out], is PyTorch's [out, in, k],
   * the permutation [2, 1, 0]. Undefined: by rank.
   */
  permutation?(ours: string): number[] | undefined;
  /** Tensors the state_dict holds that vit rebuilds from the config instead (the CCT's sine table). */
  constants?(cfg: C): Record<string, SafeTensor>;
  /** The constructor call that builds this model in PyTorch, written into exported files' metadata. */
  constructorArgs?(cfg: C): { key: string; args: Record<string, unknown> };
  /** A UserError when the PyTorch module cannot hold this config (a shape it has no argument for). */
  checkExportable?(cfg: C): void;
}

/**
 * A name table's rename of `ours`: the first pattern that matches replaces its match; `what`
 * (e.g. "CCT") names the family in the error for a name no pattern knows.
 */
export function renameByTable(table: [RegExp, string][], ours: string, what: string): string {
  const row = table.find(([pattern]) => pattern.test(ours));
  if (!row) throw new Error(`no PyTorch name for ${what} parameter ${ours}`);
  return ours.replace(row[0], row[1]);
}
