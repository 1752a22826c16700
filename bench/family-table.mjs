#!/usr/bin/env node
// The families table of docs/families.md, one row per preset: parameters, forward FLOPs per image,
// training and inference img/s with MFU (`vit bench`), and, with --train, the validation and test
// accuracy after the preset's own budget (`vit train` with train.max_minutes and fit_to_budget,
// then `vit eval` of best/, test reported once). Run it alone on the machine: it measures speed.
//
//   node bench/family-table.mjs [--train] [--steps N] [CONFIG...]   (default: every configs/k/*.json)
//
// Prints a Markdown table on stdout and each command it runs on stderr. A preset whose run fails
// gets its error in the row rather than stopping the others.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { basename, join } from 'node:path';

const args = process.argv.slice(2);
const train = args.includes('--train');
const stepsAt = args.indexOf('--steps');
const steps = stepsAt >= 0 ? args[stepsAt + 1] : '5';
const configs = args.filter((a, i) => !a.startsWith('--') && args[i - 1] !== '--steps');
const presets = configs.length > 0 ? configs : readdirSync('configs/k').filter((f) => f.endsWith('.json')).sort().map((f) => join('configs/k', f));

/** The README's accuracy of each family in kentaroy47/vision-transformers-cifar10, after its GPU epochs. */
const REPORTED = {
  vit: 'ViT patch=4: 80% (200 epochs), 88% (500)',
  vit_small: '80%',
  vit_tiny: 'not reported',
  simplevit: 'not reported',
  cait: '80%',
  cait_small: 'not reported',
  swin: 'Swin-t: 90%',
  mlpmixer: '88%',
  mobilevit: 'not reported',
  convmixer: 'ConvMixerTiny: 96.3%',
  'convmixer-256-8': 'ConvMixerTiny (256/16): 96.3%',
  res18: '93%; 95% with RandAugment',
};

function cli(command) {
  process.stderr.write(`$ npx vit ${command.join(' ')}\n`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...command], { encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' } });
  if (run.status !== 0) throw new Error((run.stderr || run.stdout).trim().split('\n').pop());
  return run.stdout;
}

const lastJson = (text) => JSON.parse(text.trim().split('\n').pop());
const percent = (x) => `${(100 * x).toFixed(2)}%`;

console.log('| preset | model | params | GFLOPs/img | train img/s (MFU) | infer img/s (MFU) | val | test | reported (GPU epochs) |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const preset of presets) {
  const name = basename(preset, '.json');
  const cells = [`\`${preset}\``];
  try {
    const b = lastJson(cli(['bench', '--config', preset, '--json', '--steps', steps, '--warmup', '2']));
    cells.push(b.model, `${(b.params / 1e6).toFixed(2)}M`, (b.flops_per_image / 1e9).toFixed(3));
    cells.push(`${b.train_images_per_second.toFixed(1)} (${Math.round(100 * b.train_mfu)}%)`, `${b.infer_images_per_second.toFixed(1)} (${Math.round(100 * b.infer_mfu)}%)`);
    if (train) {
      const run = `checkpoints/${name}`;
      cli(['train', '--config', preset]);
      const rows = readFileSync(join(run, 'metrics.csv'), 'utf8').trim().split('\n');
      const header = rows[0].split(',');
      const val = Math.max(...rows.slice(1).map((r) => Number(r.split(',')[header.indexOf('val_acc')])));
      const test = lastJson(cli(['eval', '--checkpoint', join(run, 'best'), '--json']));
      const epochs = rows.length - 1;
      const steps = JSON.parse(readFileSync(join(run, 'last', 'state.json'), 'utf8')).plans?.at(-1)?.steps;
      const length = steps ? `${steps} steps, part of one epoch` : `${epochs} epoch${epochs === 1 ? '' : 's'}`;
      cells.push(`${percent(val)} (${length})`, percent(test.accuracy));
    } else {
      cells.push('', '');
    }
  } catch (err) {
    cells.push(`failed: ${err.message}`);
  }
  while (cells.length < 8) cells.push('');
  cells.push(REPORTED[name] ?? 'not reported');
  console.log(`| ${cells.join(' | ')} |`);
}
