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

const DataSchema = z.strictObject({
  /** Use only the first N training images (null: all). For smoke runs and CI. */
  limit_train: positiveInt.nullable().default(null),
  /** Use only the first N test images (null: all). */
  limit_test: positiveInt.nullable().default(null),
  /** Hold out the last N training images as the validation set; 0 evaluates on the test set. */
  val_split: int(0).default(0),
  /** Random crop after zero-padding each side by this many pixels (0: off). */
  crop_padding: int(0).max(16).default(4),
  /** Random horizontal flip with probability 0.5. */
  flip: z.boolean().default(true),
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

const ModelSchema = z
  .strictObject({
    image_size: positiveInt.default(32),
    patch_size: positiveInt.default(4),
    dim: positiveInt.default(256),
    depth: positiveInt.default(7),
    heads: positiveInt.default(4),
    dim_head: positiveInt.default(64),
    mlp_dim: positiveInt.default(512),
    dropout: dropRate.default(0),
    emb_dropout: dropRate.default(0),
    attn_dropout: dropRate.default(0),
    /** Stochastic depth: the last block's drop probability (linearly increasing from 0). */
    drop_path: dropRate.default(0),
    pool: z.enum(['cls', 'mean']).default('cls'),
    num_classes: positiveInt.default(10),
  })
  .refine((m) => m.image_size % m.patch_size === 0, {
    message: 'image_size must be divisible by patch_size',
    path: ['patch_size'],
  });

const OptimizerSchema = z.strictObject({
  name: z.enum(['adamw', 'adam']).default('adamw'),
  lr: z.number().positive().default(1e-3),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
  eps: z.number().positive().default(1e-8),
  /** Decoupled weight decay (AdamW); not applied to biases, norms, cls token, position embedding. */
  weight_decay: nonNegative.default(0.05),
  /** Clip gradients to this global L2 norm (null: no clipping). */
  grad_clip: z.number().positive().nullable().default(null),
});

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
  if (cfg.train.fit_to_budget && cfg.train.max_minutes === null) {
    ctx.addIssue({ code: 'custom', path: ['train', 'fit_to_budget'], message: 'needs train.max_minutes (the budget to fit)' });
  }
});

export type Config = z.infer<typeof ConfigSchema>;
export type ModelConfig = Config['model'];
export type DataConfig = Config['data'];
export type OptimizerConfig = Config['optimizer'];
export type ScheduleConfig = Config['schedule'];
export type EarlyStoppingConfig = Config['early_stopping'];
export type TrainConfig = Config['train'];
export type BackendName = (typeof BACKENDS)[number];
