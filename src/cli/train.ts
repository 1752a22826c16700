import { Command } from 'commander';
import { notImplemented, runAction } from './run-action.js';

export function trainCommand(): Command {
  return new Command('train')
    .description('(not implemented yet)')
    .action(runAction(() => notImplemented('train')));
}
