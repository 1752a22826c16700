import * as tf from '@tensorflow/tfjs';
import chalk from 'chalk';
import { Command, Option } from 'commander';
import { writeToString } from 'fast-csv';
import { useBackend } from '../backend/index.js';
import { checkShapes, loadCheckpoint } from '../checkpoint/checkpoint.js';
import { restoreVariables } from '../checkpoint/weights.js';
import { type BackendName, TTA_MODES, type Tta, testTta } from '../config/schema.js';
import { loadDataset } from '../data/cifar10.js';
import { ensureDataset } from '../data/download.js';
import { selectSplits } from '../data/splits.js';
import { normalizationOf } from '../data/normalize.js';
import { initParams, stateShapes } from '../model/index.js';
import { confusionMatrix, perClassAccuracy } from '../train/confusion.js';
import { evaluate } from '../train/evaluate.js';
import { writeFileAtomic } from '../util/atomic.js';
import { DENSE_ABOVE, confusionSpec } from '../viz/confusion-heatmap.js';
import { checkChartPath, writeChart } from '../viz/render-chart.js';
import { backendOption, dataDirOption } from './common-options.js';
import { pct } from './format.js';
import { runAction } from './run-action.js';

interface EvalFlags {
  checkpoint: string;
  dataDir: string;
  backend?: BackendName;
  json?: boolean;
  predictions?: string;
  fullTest?: boolean;
  plot?: string;
  tta?: Tta;
}

export function evalCommand(): Command {
  return new Command('eval')
    .description('evaluate a checkpoint on the test set of its data.dataset (CIFAR-10 or CIFAR-100): accuracy, loss, per-class accuracy, confusion matrix')
    .requiredOption('--checkpoint <dir>', 'checkpoint directory, e.g. checkpoints/smoke/best')
    .addOption(dataDirOption())
    .addOption(backendOption())
    .option('--json', 'print one JSON object (accuracy, loss, per_class, confusion) instead of tables')
    .option('--predictions <file.csv>', 'write index,label,prediction,logit_0,…,logit_9 for every test image (the logits with the TTA applied)')
    .option('--plot <file>', 'draw the confusion matrix as a labelled heatmap with per-class accuracy (.png or .svg)')
    .addOption(new Option('--tta <mode>', "test-time augmentation (default: the run's train.test_tta, else its train.eval_tta)").choices(TTA_MODES))
    .option('--full-test', "evaluate all test images even if the run's config limited them (data.limit_test)")
    .action(runAction(runEval));
}

async function runEval(flags: EvalFlags): Promise<void> {
  const ckpt = await loadCheckpoint(flags.checkpoint);
  const cfg = ckpt.config;
  // Before the backend starts (and prints), so that a mismatch is the only thing the user sees.
  checkShapes(ckpt.weights, stateShapes(cfg.model), `${flags.checkpoint}/weights.safetensors`);
  if (flags.plot) checkChartPath(flags.plot, '--plot');
  const backend = await useBackend(flags.backend ?? cfg.backend);
  try {
    const data = await loadDataset(await ensureDataset(flags.dataDir, cfg.data.dataset), cfg.data);
    const { test } = selectSplits(data, { ...cfg.data, limit_test: flags.fullTest ? null : cfg.data.limit_test, val_split: 0 });
    const params = initParams(cfg.model, cfg.seed);
    restoreVariables(params, ckpt.weights, `${flags.checkpoint}/weights.safetensors`);
    const tta = flags.tta ?? testTta(cfg.train);
    const result = await evaluate(params, cfg.model, test, { batchSize: cfg.train.eval_batch_size, tta, normalization: normalizationOf(cfg.data) });
    tf.dispose(Object.values(params));

    const confusion = confusionMatrix(test.labels, result.predictions, cfg.model.num_classes);
    const perClass = perClassAccuracy(confusion);
    if (flags.predictions) await writePredictions(flags.predictions, test.labels, result.predictions, result.logits, cfg.model.num_classes);
    if (flags.plot) {
      const title = `${flags.checkpoint} (epoch ${ckpt.state.epoch}), ${test.count} test images`;
      await writeChart(flags.plot, confusionSpec(confusion, data.classes, perClass, result.accuracy, title));
    }
    if (flags.json) {
      const out = {
        checkpoint: flags.checkpoint,
        backend: backend.name,
        images: test.count,
        tta,
        accuracy: result.accuracy,
        loss: result.loss,
        per_class: Object.fromEntries(data.classes.map((c, i) => [c, perClass[i]])),
        confusion,
        classes: data.classes,
      };
      console.log(JSON.stringify(out));
      return;
    }
    console.log(`${chalk.bold('checkpoint')} ${flags.checkpoint} (epoch ${ckpt.state.epoch}, ${backend.name})`);
    console.log(`${chalk.bold('test')} ${test.count} images${tta === 'none' ? '' : ` (tta: ${tta})`}: accuracy ${chalk.cyan(pct(result.accuracy))}  loss ${result.loss.toFixed(4)}`);
    console.log(renderConfusion(confusion, data.classes, perClass));
    if (flags.predictions) console.log(chalk.dim(`predictions written to ${flags.predictions}`));
    if (flags.plot) console.log(chalk.dim(`confusion heatmap written to ${flags.plot}`));
  } finally {
    backend.dispose();
  }
}

/**
 * One row per image: its index in the test set, true label, predicted class and logits (to
 * ensemble or calibrate with), the logits as float32 values read back exactly.
 */
async function writePredictions(path: string, labels: Uint8Array, predictions: Int32Array, logits: Float32Array, classes: number): Promise<void> {
  const logitColumns = Array.from({ length: classes }, (_, c) => `logit_${c}`);
  const rows = Array.from(labels, (label, i) => [i, label, predictions[i], ...Array.from(logits.subarray(i * classes, (i + 1) * classes))]);
  await writeFileAtomic(path, await writeToString(rows, { headers: ['index', 'label', 'prediction', ...logitColumns], includeEndRowDelimiter: true }));
}

/**
 * Rows are true labels, columns predictions; the diagonal is highlighted; last column is recall.
 * Past 20 classes (CIFAR-100's 100) a matrix is too wide for a terminal: each class gets a line
 * with its accuracy and the class it is most often taken for instead (--plot draws the matrix).
 */
function renderConfusion(confusion: number[][], classes: string[], perClass: number[]): string {
  if (classes.length > DENSE_ABOVE) return renderPerClass(confusion, classes, perClass);
  const nameWidth = Math.max(...classes.map((c) => c.length));
  const cell = Math.max(5, ...confusion.flat().map((n) => String(n).length + 1));
  const header = ' '.repeat(nameWidth + 2) + classes.map((c) => c.slice(0, cell - 1).padStart(cell)).join('') + '  accuracy';
  const rows = confusion.map((row, i) => {
    const cells = row.map((n, j) => (i === j ? chalk.green : n ? (s: string) => s : chalk.dim)(String(n).padStart(cell))).join('');
    return `${classes[i].padStart(nameWidth)}  ${cells}  ${pct(perClass[i]).padStart(8)}`;
  });
  return [chalk.dim('confusion matrix (rows: true class, columns: predicted)'), header, ...rows].join('\n');
}

function renderPerClass(confusion: number[][], classes: string[], perClass: number[]): string {
  const nameWidth = Math.max(...classes.map((c) => c.length));
  const rows = confusion.map((row, i) => {
    const wrong = row.map((n, j) => (j === i ? -1 : n));
    const j = wrong.indexOf(Math.max(...wrong));
    const confused = row[j] > 0 ? `${classes[j]} (${row[j]})` : chalk.dim('-');
    const accuracy = Number.isNaN(perClass[i]) ? chalk.dim('no images'.padStart(9)) : pct(perClass[i]).padStart(9);
    return `${classes[i].padStart(nameWidth)}  ${accuracy}  ${confused}`;
  });
  return [chalk.dim('per class (accuracy, most often predicted instead); --plot draws the confusion matrix'), ...rows].join('\n');
}
