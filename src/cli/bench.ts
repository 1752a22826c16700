import { Command } from 'commander';
import { notImplemented, runAction } from './run-action.js';

export function benchCommand(): Command {
  return new Command('bench')
    .description('(not implemented yet)')
    .action(runAction(() => notImplemented('bench')));
}
