import { z } from 'zod';
import { FAMILIES, FAMILY_NAMES, type ModelConfig } from '../families/index.js';
import { IMAGE_SIZE } from '../data/cifar10.js';
import { CIFAR10_MEAN, CIFAR10_STD } from '../data/normalize.js';
import { DATASET_NAMES, LABEL_KINDS } from '../data/datasets.js';
import { numClassesFromDataset } from './dataset-classes.js';
import { int, nonNegative, positiveInt } from './key-types.js';

/**
 * The one place where every config key, its type, its range and its default live.
 * A config file only needs the keys it changes; everything else comes from here.
 * Objects are strict: an unknown (e.g. misspelt) key is an error, never silently ignored.
 */


export const BACKENDS = ['auto', 'cuda', 'webgpu', 'tensorflow', 'wasm', 'cpu'] as const;
export const TTA_MODES = ['none', 'flip', 'flip_translate'] as const;

const DataSchema = z.strictObject({
  /** The dataset (src/data/datasets.ts); model.num_classes follows it unless set. */
  dataset: z.enum(DATASET_NAMES).default('cifar10'),
  /** CIFAR-100's labels: its 100 'fine' classes or its 20 'coarse' superclasses (CIFAR-10 has only 'fine'). */
  labels: z.enum(LABEL_KINDS).default('fine'),
  /** Use only the first N training images (null: all). For smoke runs and CI. */
  limit_train: positiveInt.nullable().default(null),
  /** Use only the first N test images (null: all). */
  limit_test: positiveInt.nullable().default(null),
  /** Hold out the last N training images as the validation set; 0 evaluates on the test set. */
  val_split: int(0).default(0),
  /**
   * Per-channel (R, G, B) mean and standard deviation that images are normalised with, in
   * torchvision's units (pixels scaled to 0–1): x = (pixel / 255 − mean) / std. Training,
   * evaluation, prediction and the ONNX graph all use them, so a model trained elsewhere (e.g.
   * kentaroy47/vision-transformers-cifar10's std 0.2023, 0.1994, 0.2010) is evaluated as it was trained.
   */
  mean: z.tuple([z.number(), z.number(), z.number()]).default([...CIFAR10_MEAN]),
  std: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).default([...CIFAR10_STD]),
  /**
   * Resize every image to this side, bilinearly (torch.nn.functional.interpolate(mode="bilinear",
   * align_corners=False)), after the augmentations (which stay at 32×32) and before the model, in
   * training, evaluation, prediction and the ONNX graph; model.image_size must equal it. Absent or
   * null: the model sees the 32×32 images (kentaroy47's train_cifar10.py --size).
   */
  resize: positiveInt.nullable().optional(),
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
 * The model: one family's keys, chosen by `model.name` (src/families/: 'vit', the default when
 * omitted, 'cct', …). Each family's schema is strict, so a key another family has is an error
 * that names the family; `prepare` fills the defaults that depend on other keys.
 */
const FAMILY_SCHEMAS = FAMILIES.map((f) => f.schema) as unknown as [z.ZodType<ModelConfig>, ...z.ZodType<ModelConfig>[]];

function prepareModel(raw: unknown, ctx: z.RefinementCtx): unknown {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return raw;
  const m = { name: 'vit', ...(raw as Record<string, unknown>) };
  const family = FAMILIES.find((f) => f.name === m.name);
  if (!family) {
    ctx.addIssue({ code: 'custom', path: ['name'], message: `expected one of ${FAMILY_NAMES.map((n) => `'${n}'`).join(', ')}, got ${JSON.stringify(m.name)}`, input: m.name });
    return z.NEVER;
  }
  if (!('prepare' in family) || !family.prepare) return m;
  let problems = 0;
  const prepared = family.prepare(m, (key, message) => {
    problems++;
    ctx.addIssue({ code: 'custom', path: [key], message, input: m[key as keyof typeof m] });
  });
  // What prepare found wrong is the whole story: the schema's own complaints would follow from it.
  return problems > 0 ? z.NEVER : prepared;
}

export const ModelSchema = z.preprocess(prepareModel, z.discriminatedUnion('name', FAMILY_SCHEMAS as never) as unknown as z.ZodType<ModelConfig>);

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

/** optimizer.name 'sgd': torch.optim.SGD's momentum (dampening 0); its weight decay is L2, added to the gradient. */
const SgdSchema = z.strictObject({
  /** buffer ← momentum·buffer + g; 0: plain SGD. */
  momentum: z.number().min(0).lt(1).default(0.9),
  /** Nesterov momentum: the update is g + momentum·buffer rather than the buffer. */
  nesterov: z.boolean().default(false),
});

const OptimizerObject = z.strictObject({
  /**
   * 'adamw', 'adam' (L2 weight decay), 'sgd' (optimizer.sgd: momentum, L2 weight decay, as
   * torch.optim.SGD), or 'muon': Muon (optimizer.muon) for the hidden layers' weight matrices
   * (attention, MLP, convolutions, patch embedding), AdamW for the rest (norms, biases,
   * positions, cls token, pooling, classifier head).
   */
  name: z.enum(['adamw', 'adam', 'sgd', 'muon']).default('adamw'),
  lr: z.number().positive().default(1e-3),
  betas: z.tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)]).default([0.9, 0.999]),
  eps: z.number().positive().default(1e-8),
  /** Decoupled weight decay (AdamW); not applied to biases, norms, cls token, position embedding. */
  weight_decay: nonNegative.default(0.05),
  /** Clip gradients to this global L2 norm (null: no clipping). */
  grad_clip: z.number().positive().nullable().default(null),
  /** Only for name 'muon' (filled with its defaults when omitted). */
  muon: MuonSchema.optional(),
  /** Only for name 'sgd' (filled with its defaults when omitted). */
  sgd: SgdSchema.optional(),
});

/** The optimizers that have settings of their own, under a key of their name. */
const OWN_SETTINGS = ['muon', 'sgd'] as const;

/** For 'muon' and 'sgd', fills optimizer.muon / optimizer.sgd with their defaults where omitted. */
function withOwnDefaults(raw: unknown): unknown {
  if (typeof raw !== 'object' || raw === null) return raw;
  const name = (raw as { name?: unknown }).name;
  return OWN_SETTINGS.find((n) => n === name) ? { [name as string]: {}, ...raw } : raw;
}

const OptimizerSchema = z.preprocess(
  withOwnDefaults,
  OptimizerObject.superRefine((o, ctx) => {
    for (const key of OWN_SETTINGS) {
      if (o.name !== key && o[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `only for optimizer.name '${key}'` });
    }
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

export const ConfigSchema = z.preprocess(numClassesFromDataset, z.strictObject({
  /** Run directory name under checkpoint_dir (default: the config file's name). */
  run_name: z.string().regex(/^[\w.-]+$/, 'letters, digits, _ . - only').optional(),
  checkpoint_dir: z.string().min(1).default('checkpoints'),
  seed: int(0).default(0),
  backend: z.enum(BACKENDS).default('auto'),
  data: DataSchema.prefault({}),
  model: ModelSchema.prefault({}) as unknown as z.ZodType<ModelConfig>,
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
  const side = cfg.data.resize ?? IMAGE_SIZE;
  // Once the model's own keys are right: where they are not, their message is the one to read.
  const modelIsValid = !ctx.issues.some((issue) => issue.path?.[0] === 'model');
  if (modelIsValid && cfg.model.image_size !== side) {
    const message = cfg.data.resize
      ? `${cfg.model.image_size} differs from data.resize (${side}): the model's input is the resized image, so they must be equal`
      : `${cfg.model.image_size} is not the images' side ${IMAGE_SIZE}: set data.resize to ${cfg.model.image_size} to resize them (or model.image_size to ${IMAGE_SIZE})`;
    ctx.addIssue({ code: 'custom', path: ['model', 'image_size'], message });
  }
  if (modelIsValid && cfg.model.name === 'cct' && cfg.model.whiten_init && cfg.data.resize) {
    // The whitening's patch statistics are measured on the 32×32 images, not on resized ones.
    const message = `is measured on the ${IMAGE_SIZE}×${IMAGE_SIZE} images, not on images resized by data.resize (${cfg.data.resize}): use one or the other`;
    ctx.addIssue({ code: 'custom', path: ['model', 'whiten_init'], message });
  }
  if (cfg.train.fit_to_budget && cfg.train.max_minutes === null) {
    ctx.addIssue({ code: 'custom', path: ['train', 'fit_to_budget'], message: 'needs train.max_minutes (the budget to fit)' });
  }
}));

export type Config = z.infer<typeof ConfigSchema>;
export type { ModelConfig } from '../families/index.js';

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
