import type { FailureContext } from '../system-error.js';

/** Where a checkpoint on disk stands: its epoch, and the step when it was taken mid-epoch. */
export interface SavedAt {
  epoch: number;
  step_in_epoch: number;
}

/**
 * What to tell the user when writing `what` (a checkpoint or metrics.csv) fails: which checkpoint
 * is still intact (saves are atomic, so the previous `last/` survives any failure) and how to go on.
 */
export function saveFailure(what: string, lastDir: string, last: SavedAt | null, name?: 'last' | 'best'): FailureContext {
  const lastIntact = last ? `${name === 'last' ? 'the previous' : 'the saved'} last/ (${describe(last)}) is intact` : 'no checkpoint was saved yet';
  return {
    doing: `writing ${what}`,
    intact: name === 'best' ? `the previous best/ is unchanged and ${lastIntact}` : lastIntact,
    next: last ? `resume with: vit train --resume ${lastDir}` : 'start the run again',
  };
}

function describe(at: SavedAt): string {
  return at.step_in_epoch > 0 ? `epoch ${at.epoch + 1}, step ${at.step_in_epoch}` : `epoch ${at.epoch}`;
}
