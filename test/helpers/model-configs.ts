import { ConfigSchema } from '../../src/config/schema.js';
import type { CctConfig } from '../../src/families/cct/config.js';
import type { VitConfig } from '../../src/families/vit/config.js';

/** A resolved ViT model config from the keys a test sets (the schema fills the rest). */
export function vitConfig(model: Record<string, unknown> = {}): VitConfig {
  const resolved = ConfigSchema.parse({ model: { ...model, name: 'vit' } }).model;
  if (resolved.name !== 'vit') throw new Error('not a ViT config');
  return resolved;
}

/** A resolved CCT model config from the keys a test sets. */
export function cctConfig(model: Record<string, unknown> = {}): CctConfig {
  const resolved = ConfigSchema.parse({ model: { ...model, name: 'cct' } }).model;
  if (resolved.name !== 'cct') throw new Error('not a CCT config');
  return resolved;
}
