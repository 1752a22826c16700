import type { BackendName } from '../../config/schema.js';
import { UserError } from '../../errors.js';
import type { BackendProbe, ConcreteBackend } from './probe.js';

/** `auto` tries these in order: fastest first, pure-JS cpu as the last resort that always works. */
export const AUTO_ORDER: readonly ConcreteBackend[] = ['cuda', 'webgpu', 'tensorflow', 'wasm', 'cpu'];

/**
 * Picks the backend to run on from probe results. A backend asked for by name must be available,
 * and a UserError says why it is not and how to fix it; `auto` takes the first one in AUTO_ORDER
 * that it may select.
 */
export function chooseBackend(requested: BackendName, probes: readonly BackendProbe[]): BackendProbe {
  if (requested === 'auto') {
    for (const name of AUTO_ORDER) {
      const probe = probes.find((p) => p.name === name);
      if (probe?.autoSelectable) return probe;
    }
    throw new Error(`auto found no usable backend among: ${probes.map((p) => p.name).join(', ')}`);
  }
  const probe = probes.find((p) => p.name === requested);
  if (!probe) throw new Error(`backend "${requested}" was not probed`);
  if (!probe.available) {
    throw new UserError(`backend "${requested}" is not available: ${probe.reason}. ${probe.fix}`);
  }
  return probe;
}
