#!/usr/bin/env node
import chalk from 'chalk';
import { Command } from 'commander';
import { backendsCommand } from './cli/backends.js';
import { benchCommand } from './cli/bench.js';
import { dataCommand } from './cli/data.js';
import { evalCommand } from './cli/eval.js';
import { exportCommand } from './cli/export.js';
import { plotCommand } from './cli/plot.js';
import { predictCommand } from './cli/predict.js';
import { attentionCommand } from './cli/attention.js';
import { importCommand } from './cli/import.js';
import { sweepCommand } from './cli/sweep.js';
import { serveCommand } from './cli/serve.js';
import { trainCommand } from './cli/train.js';
import { VERSION } from './version.js';

// chalk already turns color off when stdout is not a terminal; NO_COLOR (no-color.org) is ours to honour.
if (process.env.NO_COLOR) chalk.level = 0;

const program = new Command('vit')
  .description('Train Vision Transformers from scratch on CIFAR-10 with TensorFlow.js')
  .version(VERSION)
  .showHelpAfterError()
  .addCommand(trainCommand())
  .addCommand(evalCommand())
  .addCommand(predictCommand())
  .addCommand(plotCommand())
  .addCommand(attentionCommand())
  .addCommand(serveCommand())
  .addCommand(dataCommand())
  .addCommand(benchCommand())
  .addCommand(backendsCommand())
  .addCommand(exportCommand())
  .addCommand(importCommand())
  .addCommand(sweepCommand());

await program.parseAsync(process.argv);
