/**
 * A time budget (`train.max_minutes`) with `train.fit_to_budget`: the run's length in epochs is
 * planned from measured epoch times, so that the LR schedule anneals to its end just as the
 * budget runs out instead of being cut off mid-schedule.
 *
 * The first plan is made during the first epoch, once PROBE of the budget is spent, from its
 * steps' speed; the next after the first epoch, from the wall time so far (training, evaluation,
 * checkpointing). The first epoch also pays for set-up (kernel compilation, caches warming), and a
 * shared machine's speed drifts, so the run plans again after its second epoch, from that epoch's
 * time, and after every later epoch whose time differs by more than DRIFT from the time the
 * current plan assumed: the epochs left are the budget left over that epoch time. A re-plan that
 * changes the length restretches the schedule over the new length from the current step on.
 * Each plan is kept in the checkpoint (`plans`), so `--resume` continues it rather than starting over.
 *
 * Every epoch is assumed to cost the measured time plus HEADROOM: on a shared machine later epochs
 * ran a few percent slower (239 s, then 253 s on one core beside another run), and a schedule cut
 * off in its last epoch is what the plan is for avoiding. `train.epochs` stays the upper bound,
 * and the budget check after every step still ends a run whose later epochs turn out slower.
 */
const HEADROOM = 0.04;
/** How far (relative) an epoch's time may move from the plan's before the run plans again. */
export const DRIFT = 0.1;

/**
 * One plan: made after epoch `after_epoch`, assuming `epoch_seconds` per epoch from then on; or
 * during the first epoch (`after_epoch` 0) from its first steps: 'estimate', the epochs that fit,
 * or, when not even one epoch fits the budget, 'steps': the run is its first `steps` steps.
 */
export interface BudgetPlan {
  after_epoch: number;
  epoch_seconds: number;
  epochs: number;
  /**
   * 'estimate' / 'steps': during the first epoch; 'first': after it, measured; 'second': after the
   * second epoch; 'drift': an epoch's time moved by more than DRIFT from the plan's.
   */
  reason: 'estimate' | 'steps' | 'first' | 'second' | 'drift';
  steps?: number;
}

/**
 * The share of the budget the first epoch trains before the run plans from its steps' speed. The
 * plan after the first epoch alone would leave that epoch on the schedule of train.epochs (at
 * nearly its peak LR), which for a run of one or two epochs is most of it; and a model whose epoch
 * is longer than the budget (a GPU-sized model on a CPU) would be cut off part way through.
 */
export const PROBE = 0.05;

/**
 * During the first epoch, after `step` steps in `epochSeconds` (`elapsedSeconds` the run's time so
 * far): the epochs that fit the budget, each estimated as the steps' speed times the epoch's steps
 * plus its evaluation (a third of a training step per image and view: a forward pass); when not
 * even one fits, a run of the steps that do.
 */
export function planFromFirstSteps(opts: {
  step: number;
  epochSeconds: number;
  elapsedSeconds: number;
  budgetSeconds: number;
  stepsPerEpoch: number;
  batchSize: number;
  evalImages: number;
  maxEpochs: number;
  minEpochs: number;
}): BudgetPlan {
  const { step, epochSeconds, elapsedSeconds, budgetSeconds, stepsPerEpoch, batchSize, evalImages, maxEpochs, minEpochs } = opts;
  const perStep = (epochSeconds / step) * (1 + HEADROOM);
  const evalSeconds = (perStep / batchSize / 3) * evalImages;
  const wholeEpoch = perStep * stepsPerEpoch + evalSeconds;
  const beforeEpoch = elapsedSeconds - epochSeconds;
  if (beforeEpoch + wholeEpoch > budgetSeconds) {
    const steps = step + Math.max(0, Math.floor((budgetSeconds - elapsedSeconds - evalSeconds) / perStep));
    return { after_epoch: 0, epoch_seconds: wholeEpoch, epochs: 1, reason: 'steps', steps: Math.max(step, Math.min(steps, stepsPerEpoch - 1)) };
  }
  const epochs = Math.min(maxEpochs, Math.max(minEpochs, Math.floor((budgetSeconds - beforeEpoch) / wholeEpoch)));
  return { after_epoch: 0, epoch_seconds: wholeEpoch, epochs, reason: 'estimate' };
}

export function plannedEpochs(opts: { budgetSeconds: number; firstEpochSeconds: number; maxEpochs: number; minEpochs: number }): number {
  const { budgetSeconds, firstEpochSeconds, maxEpochs, minEpochs } = opts;
  const fit = Math.floor(budgetSeconds / Math.max(firstEpochSeconds * (1 + HEADROOM), 1e-9));
  return Math.min(maxEpochs, Math.max(minEpochs, fit));
}

/**
 * The plan after epoch `epoch` (`epochSeconds` its time, `elapsedSeconds` the run's time so far),
 * or null when the current plan stands. `previous` is the plan in force (null before the first).
 */
export function replan(opts: {
  previous: BudgetPlan | null;
  epoch: number;
  epochSeconds: number;
  elapsedSeconds: number;
  budgetSeconds: number;
  maxEpochs: number;
  minEpochs: number;
}): BudgetPlan | null {
  const { previous, epoch, epochSeconds, elapsedSeconds, budgetSeconds, maxEpochs, minEpochs } = opts;
  if (previous === null || previous.reason === 'estimate') {
    const epochs = plannedEpochs({ budgetSeconds, firstEpochSeconds: elapsedSeconds, maxEpochs, minEpochs });
    return { after_epoch: epoch, epoch_seconds: elapsedSeconds, epochs, reason: 'first' };
  }
  if (epoch >= previous.epochs) return null; // the run is over; nothing left to plan
  const reason = epoch === 2 ? 'second' : Math.abs(epochSeconds / previous.epoch_seconds - 1) > DRIFT ? 'drift' : null;
  if (reason === null) return null;
  const more = Math.floor((budgetSeconds - elapsedSeconds) / Math.max(epochSeconds * (1 + HEADROOM), 1e-9));
  const epochs = Math.min(maxEpochs, Math.max(minEpochs, epoch, epoch + more));
  return { after_epoch: epoch, epoch_seconds: epochSeconds, epochs, reason };
}
