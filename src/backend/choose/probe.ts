import type { BackendName } from '../../config/schema.js';

/** A backend that can actually run; `auto` is a way of choosing one. */
export type ConcreteBackend = Exclude<BackendName, 'auto'>;

/** What probing one backend found: whether it can run here, and if not, why and how to fix it. */
export interface BackendProbe {
  name: ConcreteBackend;
  /** It works when asked for by name. */
  available: boolean;
  /** `auto` may pick it: false when unavailable, and for a software GPU adapter (slower than wasm). */
  autoSelectable: boolean;
  /** Why it is unavailable, or why `auto` passes it over. */
  reason?: string;
  /** What the user can do about `reason`. */
  fix?: string;
  /** Facts worth printing: package version, GPU adapter, SIMD, … */
  details: Record<string, string>;
  /** What the backend's native library wrote to stderr while probed (shown by `vit backends --verbose`). */
  nativeLog?: string[];
}

export function availableProbe(name: ConcreteBackend, details: Record<string, string>): BackendProbe {
  return { name, available: true, autoSelectable: true, details };
}

/** Works, but only when asked for by name. */
export function explicitOnlyProbe(
  name: ConcreteBackend,
  reason: string,
  details: Record<string, string>,
): BackendProbe {
  return { name, available: true, autoSelectable: false, reason, details };
}

export function unavailableProbe(
  name: ConcreteBackend,
  reason: string,
  fix: string,
  details: Record<string, string> = {},
): BackendProbe {
  return { name, available: false, autoSelectable: false, reason, fix, details };
}
