import { cait } from './cait/index.js';
import { cct } from './cct/index.js';
import { convmixer } from './convmixer/index.js';
import type { Family } from './family.js';
import { mlpmixer } from './mlpmixer/index.js';
import { mobilevit } from './mobilevit/index.js';
import { resnet } from './resnet/index.js';
import { simplevit } from './simplevit/index.js';
import { swin } from './swin/index.js';
import { vit } from './vit/index.js';
import { vitSmall } from './vit_small/index.js';

/**
 * Every model family vit trains, by `model.name`. A family is one folder exporting one Family
 * object (family.ts); adding one is its folder and a line here. The config's `model` section is
 * the union of these families' schemas (src/config/schema.ts), and src/model/index.ts dispatches
 * on `model.name` through this list.
 */
export const FAMILIES = [vit, cct, convmixer, resnet, simplevit, vitSmall, mlpmixer, cait, swin, mobilevit] as const;

/** A family's resolved model config, by the family. */
export type FamilyConfig<F> = F extends Family<infer C> ? C : never;
export type ModelConfig = FamilyConfig<(typeof FAMILIES)[number]>;
export type FamilyName = ModelConfig['name'];

export const FAMILY_NAMES = FAMILIES.map((f) => f.name) as FamilyName[];

/** The family of a resolved model config. */
export function familyOf(cfg: { name: string }): Family<ModelConfig> {
  const family = FAMILIES.find((f) => f.name === cfg.name);
  if (!family) throw new Error(`no model family '${cfg.name}'`);
  return family as unknown as Family<ModelConfig>;
}
