import { z } from 'zod';
import { DATASETS, type DatasetChoice, DATASET_NAMES, LABEL_KINDS, describeChoice, labelSetOf } from '../data/datasets.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * model.num_classes follows the dataset (data.dataset, data.labels: 10, 100 or 20) when the config
 * does not set it. A CIFAR-100 config that sets a num_classes that disagrees is an error naming
 * both keys; a CIFAR-10 one keeps whatever num_classes it sets, as before CIFAR-100 existed (tests
 * build tiny 3-class models, and a resolved config, which names data.dataset 'cifar10', must
 * parse again). Runs on the raw config, before defaults.
 */
export function numClassesFromDataset(raw: unknown, ctx: z.RefinementCtx): unknown {
  if (!isObject(raw)) return raw;
  const data = raw.data === undefined ? {} : raw.data;
  const model = raw.model === undefined ? {} : raw.model;
  if (!isObject(data) || !isObject(model)) return raw; // the schema says what is wrong
  const choice = { dataset: data.dataset ?? 'cifar10', labels: data.labels ?? 'fine' } as DatasetChoice;
  if (!DATASET_NAMES.includes(choice.dataset) || !LABEL_KINDS.includes(choice.labels)) return raw;
  const set = labelSetOf(choice);
  if (!set) {
    const spec = DATASETS[choice.dataset];
    ctx.addIssue({ code: 'custom', path: ['data', 'labels'], message: `${spec.title} has only ${Object.keys(spec.labels).map((k) => `'${k}'`).join(', ')} labels ('coarse' is CIFAR-100's 20 superclasses)` });
    return z.NEVER;
  }
  const classes = set.names.length;
  if (model.num_classes === undefined) return { ...raw, model: { ...model, num_classes: classes } };
  if (choice.dataset !== 'cifar10' && model.num_classes !== classes) {
    const which = `data.dataset '${choice.dataset}'${'labels' in data ? ` with data.labels '${choice.labels}'` : ''}`;
    ctx.addIssue({
      code: 'custom',
      path: ['model', 'num_classes'],
      message: `${JSON.stringify(model.num_classes)} disagrees with ${which} (${describeChoice(choice)}: ${classes} classes); set it to ${classes} or leave it out`,
    });
    return z.NEVER;
  }
  return raw;
}
