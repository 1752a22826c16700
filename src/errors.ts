/**
 * An error caused by the user's input (a config key, a file, a flag), as opposed to a bug.
 * The CLI prints its message as one line, without a stack trace, and exits with `exitCode`.
 * Messages name the file or key and say what was expected.
 */
export class UserError extends Error {
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'UserError';
  }
}
