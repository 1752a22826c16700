/**
 * A time budget (`train.max_minutes`) with `train.fit_to_budget`: the run's length in epochs is
 * fixed once, from the measured wall time of its first epoch (training, evaluation and
 * checkpointing), so that the LR schedule anneals to its end just as the budget runs out instead
 * of being cut off mid-schedule. The plan is saved in the checkpoint, so `--resume` replays it
 * rather than measuring again.
 *
 * Every epoch is assumed to cost what the first did plus HEADROOM: on a shared machine later epochs
 * ran a few percent slower (239 s, then 253 s on one core beside another run), and a schedule cut
 * off in its last epoch is what the plan is for avoiding. `train.epochs` stays the upper bound,
 * and the budget check after every step still ends a run whose later epochs turn out slower.
 */
const HEADROOM = 0.04;

export function plannedEpochs(opts: { budgetSeconds: number; firstEpochSeconds: number; maxEpochs: number; minEpochs: number }): number {
  const { budgetSeconds, firstEpochSeconds, maxEpochs, minEpochs } = opts;
  const fit = Math.floor(budgetSeconds / Math.max(firstEpochSeconds * (1 + HEADROOM), 1e-9));
  return Math.min(maxEpochs, Math.max(minEpochs, fit));
}
