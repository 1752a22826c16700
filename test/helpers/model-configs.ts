import { ModelSchema } from '../../src/config/schema.js';
import type { CctConfig } from '../../src/families/cct/config.js';
import type { VitConfig } from '../../src/families/vit/config.js';

/**
 * A resolved ViT model config from the keys a test sets (the schema fills the rest). The model's
 * schema alone: a whole config also asks that image_size be the images' side (or data.resize).
 */
export function vitConfig(model: Record<string, unknown> = {}): VitConfig {
  const resolved = ModelSchema.parse({ ...model, name: 'vit' });
  if (resolved.name !== 'vit') throw new Error('not a ViT config');
  return resolved;
}

/** A resolved CCT model config from the keys a test sets. */
export function cctConfig(model: Record<string, unknown> = {}): CctConfig {
  const resolved = ModelSchema.parse({ ...model, name: 'cct' });
  if (resolved.name !== 'cct') throw new Error('not a CCT config');
  return resolved;
}
