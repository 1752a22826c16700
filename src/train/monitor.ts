import type { EarlyStoppingConfig } from '../config/schema.js';
import { UserError } from '../errors.js';

export type Monitor = EarlyStoppingConfig['monitor'];
export type ValMetrics = Record<Monitor, number>;

/**
 * A loss gets better as it falls, an accuracy as it rises. `mode: 'auto'` (the default) follows
 * the monitor; an explicit mode that contradicts it would treat every improvement as a setback,
 * so it is refused rather than followed.
 */
export function monitorMode(section: string, monitor: Monitor, mode: EarlyStoppingConfig['mode']): 'min' | 'max' {
  const expected = monitor === 'val_acc' ? 'max' : 'min';
  if (mode !== 'auto' && mode !== expected) {
    throw new UserError(`${section}.mode is '${mode}' but ${section}.monitor is ${monitor}: set ${section}.mode to '${expected}' or 'auto'`);
  }
  return expected;
}
