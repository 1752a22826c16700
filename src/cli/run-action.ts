import chalk from 'chalk';
import { UserError } from '../errors.js';

/**
 * Wraps a command's action: a UserError becomes one red line on stderr and its exit code;
 * anything else is a bug and keeps its stack trace.
 */
export function runAction<A extends unknown[]>(action: (...args: A) => Promise<void> | void) {
  return async (...args: A): Promise<void> => {
    try {
      await action(...args);
    } catch (err) {
      if (err instanceof UserError) {
        process.stderr.write(`${chalk.red('error:')} ${err.message}\n`);
        process.exitCode = err.exitCode;
        return;
      }
      throw err;
    }
  };
}

/** For subcommands that a later change fills in. */
export function notImplemented(name: string): never {
  throw new UserError(`\`vit ${name}\` is not implemented yet`, 2);
}
