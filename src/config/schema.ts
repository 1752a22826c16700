import { z } from 'zod';

/**
 * The one place where every config key, its type, its range and its default live.
 * A config file only needs the keys it changes; everything else comes from here.
 * Objects are strict: an unknown (e.g. misspelt) key is an error, never silently ignored.
 */

const int = (min: number) => z.number().int().min(min);
const positiveInt = int(1);
/** A drop rate: tf.dropout needs it below 1. */
const dropRate = z.number().min(0).lt(1);
const nonNegative = z.number().min(0);

export const BACKENDS = ['auto', 'cuda', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export const TTA_MODES = ['none', 'flip', 'flip_translate'] as const;

const DataSchema = z.strictObject({
  /** Use only the first N training images (null: all). For smoke runs and CI. */
  limit_train: positiveInt.nullable().default(null),
  /** Use only the first N test images (null: all). */
  limit_test: positiveInt.nullable().default(null),
  /** Hold out the last N training images as the validation set; 0 evaluates on the test set. */
  val_split: int(0).default(0),
  /** Random crop after padding each side by this many pixels (0: off). */
  crop_padding: int(0).max(16).default(4),
  /**
   * What the crop's padding holds: 'zeros' (torchvision's RandomCrop: black) or 'reflect' (the
   * image mirrored at its border, PyTorch's reflect padding: airbench's `translate`).
   */
  crop_mode: z.enum(['zeros', 'reflect']).default('zeros'),
  /** Random horizontal flip. */
  flip: z.boolean().default(true),
  /**
   * With flip on: 'random' mirrors each image with probability 0.5 in every epoch; 'alternate'
   * (airbench's derandomised flip) mirrors each image in every other epoch, from a seeded random
   * choice per image in epoch 1.
   */
  flip_mode: z.enum(['random', 'alternate']).default('random'),
  /**
   * RandAugment after crop and flip: n ops per image at magnitude m of 0-30 (torchvision's scale,
   * and its defaults); null: off.
   */
  randaugment: z.strictObject({ n: positiveInt.default(2), m: int(0).max(30).default(9) }).nullable().default(null),
  /** Mixup with λ ~ Beta(α, α) on each batch (0: off). */
  mixup_alpha: nonNegative.default(0),
  /** Cutmix with λ ~ Beta(α, α) on each batch (0: off). */
  cutmix_alpha: nonNegative.default(0),
  /** With mixup or cutmix on: probability that a batch is mixed. */
  mix_prob: z.number().min(0).max(1).default(1),
  /** With both on: probability that a mixed batch uses cutmix rather than mixup. */
  switch_prob: z.number().min(0).max(1).default(0.5),
  /** Probability of erasing a random rectangle of each image (0: off). */
  random_erasing: z.number().min(0).max(1).default(0),
  /** What fills an erased rectangle: normal noise per value, or 0 (the mean colour). */
  random_erasing_mode: z.enum(['pixel', 'const']).default('pixel'),
});

/**
 * CCT-only keys (model.name 'cct'): the Compact Convolutional Transformer's tokenizer, pooling and
 * MLP width. They are optional in the schema so that a ViT's resolved config (and so its
 * checkpoints and exports) stays exactly as before; for 'cct' the defaults below are filled in.
 */
export const CCT_DEFAULTS = {
  /** MLP width = dim × mlp_ratio. */
  mlp_ratio: 2,
  /** Conv layers in the tokenizer, each Conv (no bias) → ReLU → MaxPool. */
  conv_layers: 1,
  /** Channels between conv layers (SHI-Labs' in_planes); the last layer outputs dim. */
  conv_channels: 64,
  conv_kernel: 3,
  conv_stride: 1,
  conv_padding: 1,
  pool_kernel: 3,
  pool_stride: 2,
  pool_padding: 1,
  positional_embedding: 'learnable' as 'learnable' | 'sine' | 'none',
};
const CCT_KEYS = Object.keys(CCT_DEFAULTS) as (keyof typeof CCT_DEFAULTS)[];
/**
 * ViT-only keys, with their defaults, that mean nothing to a CCT (its dropout after the positions
 * is `dropout`): a cct config may hold them only at these values (as its resolved config does).
 */
const VIT_ONLY_DEFAULTS = { patch_size: 4, pool: 'cls', emb_dropout: 0 } as const;
const VIT_DEFAULTS = { dim: 256, heads: 4 };

const ModelObject = z.strictObject({
  /** The model family: 'vit' (the default; may be omitted) or 'cct'. */
  name: z.enum(['vit', 'cct']).optional(),
  image_size: positiveInt.default(32),
  patch_size: positiveInt.default(VIT_ONLY_DEFAULTS.patch_size),
  dim: positiveInt.default(VIT_DEFAULTS.dim),
  depth: positiveInt.default(7),
  heads: positiveInt.default(VIT_DEFAULTS.heads),
  /** For 'cct': must be dim / heads (filled in when omitted). */
  dim_head: positiveInt.default(64),
  /** For 'cct': dim × mlp_ratio (filled in when omitted). */
  mlp_dim: positiveInt.default(512),
  dropout: dropRate.default(0),
  emb_dropout: dropRate.default(VIT_ONLY_DEFAULTS.emb_dropout),
  attn_dropout: dropRate.default(0),
  /** Stochastic depth: the last block's drop probability (linearly increasing from 0). */
  drop_path: dropRate.default(0),
  pool: z.enum(['cls', 'mean']).default(VIT_ONLY_DEFAULTS.pool),
  num_classes: positiveInt.default(10),
  mlp_ratio: z.number().positive().optional(),
  conv_layers: positiveInt.optional(),
  conv_channels: positiveInt.optional(),
  conv_kernel: positiveInt.optional(),
  conv_stride: positiveInt.optional(),
  conv_padding: int(0).optional(),
  pool_kernel: positiveInt.optional(),
  pool_stride: positiveInt.optional(),
  pool_padding: int(0).optional(),
  positional_embedding: z.enum(['learnable', 'sine', 'none']).optional(),
  /**
   * For 'cct' (absent or null: off): airbench's patch-whitening initialisation of the first
   * tokenizer conv. The k×k×3 patches of `images` training images (a seeded sample, never the
   * validation split) give the filters v / √(λ + eps) of their second moment's eigenvectors v and
   * eigenvalues λ, with their negatives, largest λ first: 2·k·k·3 channels (54 for k = 3), or
   * as many pairs as fit; further channels keep the normal init. `frozen`: never trained (nor
   * decayed), as airbench's; false: trained from there on.
   */
  whiten_init: z
    .strictObject({
      frozen: z.boolean().default(true),
      eps: z.number().positive().default(5e-4),
      images: positiveInt.default(5000),
    })
    .nullable()
    .optional(),
});

/** For 'cct', fills the CCT defaults, dim_head = dim / heads and mlp_dim = dim × mlp_ratio where omitted. */
function withFamilyDefaults(raw: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof raw !== 'object' || raw === null || (raw as { name?: unknown }).name !== 'cct') return raw;
  for (const [key, value] of Object.entries(VIT_ONLY_DEFAULTS)) {
    const given = (raw as Record<string, unknown>)[key];
    if (given !== undefined && given !== value) ctx.addIssue({ code: 'custom', path: [key], message: "does not apply to model.name 'cct' (remove it)" });
  }
  const m: Record<string, unknown> = { ...CCT_DEFAULTS, ...(raw as Record<string, unknown>) };
  const dim = typeof m.dim === 'number' ? m.dim : VIT_DEFAULTS.dim;
  const heads = typeof m.heads === 'number' ? m.heads : VIT_DEFAULTS.heads;
  if (m.dim_head === undefined && dim % heads === 0) m.dim_head = dim / heads;
  if (m.mlp_dim === undefined && typeof m.mlp_ratio === 'number') m.mlp_dim = Math.round(dim * m.mlp_ratio);
  return m;
}

const ModelSchema = z.preprocess(
  withFamilyDefaults,
  ModelObject.superRefine((m, ctx) => {
    const issue = (key: string, message: string) => ctx.addIssue({ code: 'custom', path: [key], message });
    if (m.name !== 'cct') {
      if (m.image_size % m.patch_size !== 0) issue('patch_size', 'image_size must be divisible by patch_size');
      for (const key of [...CCT_KEYS, 'whiten_init' as const]) if (m[key] != null) issue(key, "only for model.name 'cct'");
      return;
    }
    if (m.dim % m.heads !== 0) issue('heads', `must divide dim (${m.dim})`);
    else if (m.dim_head !== m.dim / m.heads) issue('dim_head', `must be dim / heads (${m.dim / m.heads}) for a cct`);
    if (m.mlp_dim !== Math.round(m.dim * m.mlp_ratio!)) issue('mlp_dim', `must be dim × mlp_ratio (${Math.round(m.dim * m.mlp_ratio!)}) for a cct`);
    if (cctGridSide(m as CctConfig) < 1) issue('conv_layers', `leave no tokens of a ${m.image_size}x${m.image_size} image`);
    if (m.pool_padding! > m.pool_kernel! / 2) issue('pool_padding', 'must be at most half of pool_kernel (as PyTorch\'s MaxPool2d)');
  }),
);

/**
 * optimizer.name 'muon': the Muon group's settings (Keller Jordan's Muon and its defaults); AdamW
 * with optimizer.lr, betas, eps and weight_decay trains every other parameter.
 */
const MuonSchema = z.strictObject({
  /** The Muon group's peak LR, in units of spectral norm per update; the schedule scales it as it scales optimizer.lr. */
  lr: z.number().positive().default(0.02),
  /** SGD momentum, as an exponential average of the gradients: buffer ← momentum·buffer + (1 − momentum)·g. */
  momentum: z.number().min(0).lt(1).default(0.95),
  /** Nesterov momentum: the update is (1 − momentum)·g + momentum·buffer rather than the buffer. */
  nesterov: z.boolean().default(true),
  /** Newton–Schulz iterations that orthogonalize each update. */
  ns_steps: positiveInt.max(20).default(5),
  /** Decoupled weight decay of the Muon group, p ← p·(1 − lr·weight_decay), as the reference's. */
  weight_decay: nonNegative.default(0),
});

const OptimizerObject = z.strictObject({
  /**
   * 'adamw', 'adam' (L2 weight decay), or 'muon': Muon (optimizer.muon) for the hidden layers'
   * weight matrices (attention, MLP, conv tokenizer or patch embedding), AdamW for the rest
   * (norms, biases, positions, cls token, pooling, classifier head).
   */
  name: z.enum(['adamw', 'adam', 'muon']).default('adamw'),
  lr: z.number().positive().default(1e-3),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
  eps: z.number().positive().default(1e-8),
  /** Decoupled weight decay (AdamW); not applied to biases, norms, cls token, position embedding. */
  weight_decay: nonNegative.default(0.05),
  /** Clip gradients to this global L2 norm (null: no clipping). */
  grad_clip: z.number().positive().nullable().default(null),
  /** Only for name 'muon' (filled with its defaults when omitted). */
  muon: MuonSchema.optional(),
});

/** For 'muon', fills optimizer.muon with its defaults where omitted, as the CCT keys are for model.name 'cct'. */
function withMuonDefaults(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null || (raw as { name?: unknown }).name !== 'muon') return raw;
  return { muon: {}, ...raw };
}

const OptimizerSchema = z.preprocess(
  withMuonDefaults,
  OptimizerObject.superRefine((o, ctx) => {
    if (o.name !== 'muon' && o.muon !== undefined) ctx.addIssue({ code: 'custom', path: ['muon'], message: "only for optimizer.name 'muon'" });
  }),
);

const ScheduleSchema = z.strictObject({
  name: z.enum(['cosine', 'plateau', 'step', 'constant']).default('cosine'),
  /** Linear warmup from ~0 to optimizer.lr over this many epochs (cosine, step, constant). */
  warmup_epochs: nonNegative.default(0),
  min_lr: nonNegative.default(1e-5),
  /** plateau: ReduceLROnPlateau. */
  monitor: z.enum(['val_loss', 'val_acc']).default('val_loss'),
  /** 'auto': min for val_loss, max for val_acc. */
  mode: z.enum(['auto', 'min', 'max']).default('auto'),
  factor: z.number().gt(0).lt(1).default(0.1),
  patience: int(0).default(10),
  cooldown: int(0).default(0),
  threshold: nonNegative.default(1e-4),
  /** step: multiply the LR by gamma every step_epochs epochs. */
  step_epochs: positiveInt.default(30),
  gamma: z.number().gt(0).max(1).default(0.1),
});

const EarlyStoppingSchema = z.strictObject({
  enabled: z.boolean().default(true),
  monitor: z.enum(['val_loss', 'val_acc']).default('val_acc'),
  /** 'auto': min for val_loss, max for val_acc. */
  mode: z.enum(['auto', 'min', 'max']).default('auto'),
  patience: positiveInt.default(20),
  min_delta: nonNegative.default(0),
});

const TrainSchema = z.strictObject({
  epochs: positiveInt.default(200),
  batch_size: positiveInt.default(128),
  eval_batch_size: positiveInt.default(500),
  /**
   * Test-time augmentation for every evaluation (per-epoch val/test, `vit eval`, `vit predict`):
   * 'flip' averages the logits of each image and its mirror image (training flips too, so both are
   * in-distribution), at twice the inference cost; 'flip_translate' (airbench's tta_level 2) adds
   * the image shifted one pixel up-left and one down-right (reflect padding), each with its
   * mirror: 6 views weighted 1/4, 1/4 and 1/8 each, at six times the cost (see model/tta.ts).
   */
  eval_tta: z.enum(TTA_MODES).default('none'),
  /**
   * The test-time augmentation of the final test (`vit eval`, `vit predict`) when it differs from
   * the per-epoch validation's (null: eval_tta). A run can validate every epoch with 'flip' and be
   * tested once with the 3× costlier 'flip_translate'; `best/` is chosen with eval_tta either way.
   */
  test_tta: z.enum(TTA_MODES).nullable().default(null),
  label_smoothing: z.number().min(0).lt(1).default(0),
  /** End training cleanly (final eval + checkpoint) after this many minutes (null: no limit). */
  max_minutes: z.number().positive().nullable().default(null),
  /**
   * With max_minutes: fix the run's length from the first epoch's measured time, so that the LR
   * schedule ends when the budget does (train.epochs stays the upper bound).
   */
  fit_to_budget: z.boolean().default(false),
  /**
   * An exponential moving average of the weights (timm's ModelEma): evaluated, checkpointed as the
   * weights and chosen for best/ when on; null: off. `warmup` ramps the decay up over the first steps.
   */
  ema: z.strictObject({ decay: z.number().gt(0).lt(1).default(0.9998), warmup: z.boolean().default(true) }).nullable().default(null),
  /**
   * Lookahead-style weight averaging, airbench's (hlb-CIFAR10's LookaheadState): every `every`
   * steps from epoch `start_epoch`, slow ← ρ·slow + (1 − ρ)·w and then w ← slow, with
   * ρ = decay^every · (step / total steps)^power; after each epoch, w ← slow. It changes the
   * training weights themselves (see train/lookahead.ts); null: off. airbench: every 5, decay
   * 0.95, power 3, from its 4th of 10 epochs.
   */
  lookahead: z
    .strictObject({
      every: positiveInt.default(5),
      decay: z.number().gt(0).lt(1).default(0.95),
      power: nonNegative.default(3),
      start_epoch: positiveInt.default(1),
    })
    .nullable()
    .optional(),
  /**
   * Start from the weights of this checkpoint directory (e.g. one written by `vit import`):
   * weights only, with a fresh optimizer and schedule. Absent: fresh weights from the seed.
   */
  init_from: z.string().min(1).optional(),
});

export const ConfigSchema = z.strictObject({
  /** Run directory name under checkpoint_dir (default: the config file's name). */
  run_name: z.string().regex(/^[\w.-]+$/, 'letters, digits, _ . - only').optional(),
  checkpoint_dir: z.string().min(1).default('checkpoints'),
  seed: int(0).default(0),
  backend: z.enum(BACKENDS).default('auto'),
  data: DataSchema.prefault({}),
  model: ModelSchema.prefault({}),
  optimizer: OptimizerSchema.prefault({}),
  schedule: ScheduleSchema.prefault({}),
  early_stopping: EarlyStoppingSchema.prefault({}),
  train: TrainSchema.prefault({}),
}).superRefine((cfg, ctx) => {
  // Checked here, with the config, so that a bad combination fails before anything is written.
  const { name, warmup_epochs } = cfg.schedule;
  if (name === 'plateau' && warmup_epochs > 0) {
    ctx.addIssue({ code: 'custom', path: ['schedule', 'warmup_epochs'], message: 'must be 0 for the plateau schedule' });
  } else if (warmup_epochs >= cfg.train.epochs) {
    ctx.addIssue({ code: 'custom', path: ['schedule', 'warmup_epochs'], message: `must end before train.epochs (${cfg.train.epochs})` });
  }
  if (cfg.data.flip_mode === 'alternate' && !cfg.data.flip) {
    ctx.addIssue({ code: 'custom', path: ['data', 'flip_mode'], message: "'alternate' needs data.flip: true" });
  }
  if (cfg.train.fit_to_budget && cfg.train.max_minutes === null) {
    ctx.addIssue({ code: 'custom', path: ['train', 'fit_to_budget'], message: 'needs train.max_minutes (the budget to fit)' });
  }
});

export type Config = z.infer<typeof ConfigSchema>;
export type ModelConfig = Config['model'];
/** A model config with name 'cct': the CCT keys are always filled in. */
export type CctConfig = ModelConfig & Required<Pick<ModelConfig, keyof typeof CCT_DEFAULTS>> & { name: 'cct' };

/**
 * The side of the CCT's token grid: each tokenizer layer is a conv then a max-pool, and each
 * maps a side s to floor((s + 2·padding − kernel) / stride) + 1 (PyTorch's output size).
 */
export function cctGridSide(m: CctConfig): number {
  const out = (s: number, k: number, stride: number, pad: number) => Math.floor((s + 2 * pad - k) / stride) + 1;
  let side = m.image_size;
  for (let i = 0; i < m.conv_layers; i++) {
    side = out(out(side, m.conv_kernel, m.conv_stride, m.conv_padding), m.pool_kernel, m.pool_stride, m.pool_padding);
  }
  return side;
}
export type DataConfig = Config['data'];
export type OptimizerConfig = Config['optimizer'];
export type ScheduleConfig = Config['schedule'];
export type EarlyStoppingConfig = Config['early_stopping'];
export type TrainConfig = Config['train'];
export type Tta = TrainConfig['eval_tta'];

/** The TTA of the final test of a run: train.test_tta, else train.eval_tta. */
export function testTta(train: Pick<TrainConfig, 'eval_tta' | 'test_tta'>): Tta {
  return train.test_tta ?? train.eval_tta;
}
export type BackendName = (typeof BACKENDS)[number];
