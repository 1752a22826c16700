import chalk from 'chalk';
import { inspect } from 'node:util';
import { wasmAbortLine } from '../backend/drivers/wasm-abort.js';
import { UserError } from '../errors.js';
import { systemFailureLine } from '../system-error.js';

/**
 * Wraps a command's action: a UserError becomes one red line on stderr and its exit code;
 * so does a system failure (disk full, permission denied, …) that no caller explained in more detail,
 * and wasm's out-of-memory abort.
 * Anything else is a bug: its stack trace is printed (as Node would) and the exit code is 70
 * (EX_SOFTWARE). Not left to Node: tfjs-backend-wasm's uncaughtException handler would rethrow it
 * from its own source line and exit with 7, which reads like a crash inside wasm.
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
      const line = systemFailureLine(err) ?? wasmAbortLine(err);
      if (line) {
        process.stderr.write(`${chalk.red('error:')} ${line}\n`);
        process.exitCode = 1;
        return;
      }
      process.stderr.write(`${inspect(err)}\n`);
      process.exitCode = EXIT_BUG;
    }
  };
}

/** sysexits.h's EX_SOFTWARE: an internal error. */
const EXIT_BUG = 70;

/** For subcommands that a later change fills in. */
export function notImplemented(name: string): never {
  throw new UserError(`\`vit ${name}\` is not implemented yet`, 2);
}
