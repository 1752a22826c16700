#!/usr/bin/env node
import { Command } from 'commander';
import { benchCommand } from './cli/bench.js';
import { evalCommand } from './cli/eval.js';
import { trainCommand } from './cli/train.js';
import { VERSION } from './version.js';

const program = new Command('vit')
  .description('Train Vision Transformers from scratch on CIFAR-10 with TensorFlow.js')
  .version(VERSION)
  .showHelpAfterError()
  .addCommand(trainCommand())
  .addCommand(evalCommand())
  .addCommand(benchCommand());

await program.parseAsync(process.argv);
