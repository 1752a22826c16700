import chalk from 'chalk';
import cliProgress from 'cli-progress';
import type { MetricsRow } from '../train/metrics-csv.js';
import type { BudgetPlan } from '../train/budget.js';
import type { TrainEvents } from '../train/trainer.js';
import { duration, lrText, pct } from './format.js';

/**
 * What a person watching `vit train` sees: a progress bar per epoch on stderr (redrawn in a
 * terminal; a plain line every ~10% otherwise, so CI logs stay readable) and one colored summary
 * line per epoch on stdout.
 */
export function trainReporter(): TrainEvents & { stop(): void } {
  const tty = Boolean(process.stderr.isTTY);
  let bar: cliProgress.SingleBar | null = null;
  let lastPlain = -1;

  const stopBar = () => {
    bar?.stop();
    bar = null;
  };

  return {
    start(info) {
      const where = info.epoch > 0 ? `resuming after epoch ${info.epoch}` : 'starting';
      console.log(
        `${chalk.bold('run')} ${info.runDir}: ${where}; ${info.trainCount} training images (${info.stepsPerEpoch} steps/epoch), ` +
          `evaluating on ${info.valCount} ${info.valName} images`,
      );
    },
    step(p) {
      const payload = { epochText: `epoch ${p.epoch}/${p.epochs}`, loss: p.loss.toFixed(4), acc: pct(p.acc), ips: p.imagesPerSecond.toFixed(1), lr: lrText(p.lr) };
      if (tty) {
        if (!bar) {
          bar = new cliProgress.SingleBar(
            {
              stream: process.stderr,
              format: '{epochText} {bar} {value}/{total} | loss {loss} acc {acc} | {ips} img/s | lr {lr} | ETA {eta_formatted}',
              hideCursor: true,
              clearOnComplete: true,
              etaBuffer: 50,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(p.steps, 0, payload);
        }
        bar.update(p.step, payload);
      } else {
        const tenth = Math.floor((10 * p.step) / p.steps);
        if (tenth !== lastPlain || p.step === p.steps) {
          lastPlain = tenth;
          process.stderr.write(
            `  ${payload.epochText} step ${p.step}/${p.steps} loss ${payload.loss} acc ${payload.acc} ${payload.ips} img/s ETA ${duration(p.etaSeconds)}\n`,
          );
        }
      }
    },
    epoch(row: MetricsRow, { best, epochs, plans, epochsBefore }) {
      stopBar();
      lastPlain = -1;
      console.log(
        [
          chalk.bold(`epoch ${String(row.epoch).padStart(String(epochs).length)}/${epochs}`),
          chalk.dim(`lr ${lrText(row.lr)}`),
          `train loss ${row.train_loss.toFixed(4)} acc ${pct(row.train_acc)}`,
          chalk.cyan(`val loss ${row.val_loss.toFixed(4)} acc ${pct(row.val_acc)}`),
          chalk.dim(`${duration(row.epoch_seconds)} ${row.images_per_second.toFixed(1)} img/s`),
          best ? chalk.green('★ best') : '',
        ]
          .filter(Boolean)
          .join('  '),
      );
      for (const plan of plans) console.log(chalk.dim(budgetPlanLine(plan, epochsBefore)));
    },
    stop: stopBar,
  };
}

/** One line per fit_to_budget plan: what was measured and how long the run now is (`before`: its length before a re-plan). */
export function budgetPlanLine(plan: BudgetPlan, before?: number): string {
  const epochs = `${plan.epochs} epoch${plan.epochs === 1 ? '' : 's'}`;
  if (plan.reason === 'steps') {
    return `time budget: one epoch would take ${duration(plan.epoch_seconds)}, more than the budget, so this run trains ${plan.steps} steps of its first epoch and its schedule ends with them`;
  }
  if (plan.reason === 'estimate') {
    return `time budget: one epoch should take ${duration(plan.epoch_seconds)} (from its first steps), so this run trains ${epochs} and its schedule ends with them`;
  }
  if (plan.reason === 'first') return `time budget: the first epoch took ${duration(plan.epoch_seconds)}, so this run trains ${epochs} and its schedule ends with them`;
  const what = plan.reason === 'second' ? 'the second epoch' : `epoch ${plan.after_epoch}`;
  if (plan.epochs === before) return `time budget: ${what} took ${duration(plan.epoch_seconds)}, so this run keeps its ${epochs} (planned again: the same length)`;
  return `time budget: ${what} took ${duration(plan.epoch_seconds)}, so this run now trains ${epochs} (re-planned; the schedule ends with them)`;
}
