import { Command } from 'commander';
import { notImplemented, runAction } from './run-action.js';

export function evalCommand(): Command {
  return new Command('eval')
    .description('(not implemented yet)')
    .action(runAction(() => notImplemented('eval')));
}
