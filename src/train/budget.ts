/**
 * A time budget (`train.max_minutes`) with `train.fit_to_budget`: the run's length in epochs is
 * fixed once, from the measured wall time of its first epoch (training, evaluation and
 * checkpointing), so that the LR schedule anneals to its end just as the budget runs out instead
 * of being cut off mid-schedule. The plan is saved in the checkpoint, so `--resume` replays it
 * rather than measuring again.
 *
 * Every epoch is assumed to cost what the first did; `train.epochs` stays the upper bound, and the
 * budget check after every step still ends a run whose later epochs turn out slower.
 */
export function plannedEpochs(opts: { budgetSeconds: number; firstEpochSeconds: number; maxEpochs: number; minEpochs: number }): number {
  const { budgetSeconds, firstEpochSeconds, maxEpochs, minEpochs } = opts;
  const fit = Math.floor(budgetSeconds / Math.max(firstEpochSeconds, 1e-9));
  return Math.min(maxEpochs, Math.max(minEpochs, fit));
}
