import { UserError } from './errors.js';

/**
 * Node system-error codes that mean the machine failed, not vit: the disk, its permissions, the
 * kernel's limits. The user can fix these, so they get words and no stack trace; every other error
 * code (ENOENT from our own paths, EINVAL, …) may be a bug and keeps its trace.
 */
const SYSTEM_PROBLEMS: Record<string, string> = {
  ENOSPC: 'disk full',
  EDQUOT: 'disk quota exceeded',
  EFBIG: 'file too large for this file system',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  EIO: 'input/output error (a failing disk or a lost network mount)',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files on this system',
};

export interface SystemProblem {
  code: string;
  /** What happened, in words. */
  words: string;
  /** The file the failing call named, when Node says. */
  path?: string;
}

/** The system failure behind `err` (looking through `cause` chains), or undefined for anything else. */
export function systemProblem(err: unknown): SystemProblem | undefined {
  for (let e = err as { code?: unknown; path?: unknown; cause?: unknown } | undefined; e && typeof e === 'object'; e = e.cause as typeof e) {
    if (typeof e.code === 'string' && e.code in SYSTEM_PROBLEMS) {
      return { code: e.code, words: SYSTEM_PROBLEMS[e.code], path: typeof e.path === 'string' ? e.path : undefined };
    }
  }
  return undefined;
}

export interface FailureContext {
  /** What vit was doing, naming the file: "writing checkpoints/x/last". */
  doing: string;
  /** What is still safe: "the previous last/ (epoch 4) is intact". */
  intact: string;
  /** What to do once the cause is fixed: "resume with: vit train --resume …". */
  next?: string;
}

/**
 * One line for a system failure during `context.doing`, as a UserError; any other error is returned
 * unchanged (a bug keeps its stack trace). Use as `catch (err) { throw explainSystemError(err, …) }`.
 */
export function explainSystemError(err: unknown, context: FailureContext): unknown {
  const problem = systemProblem(err);
  if (!problem || err instanceof UserError) return err;
  const fix = FIXES[problem.code] ?? 'fix the cause';
  const next = context.next ? `${fix} and ${context.next}` : fix;
  return new UserError(`${problem.words} (${problem.code}) while ${context.doing}; ${context.intact}; ${next}`);
}

/** The first thing to do about each problem, before retrying. */
const FIXES: Record<string, string> = {
  ENOSPC: 'free some space',
  EDQUOT: 'free some space',
  EFBIG: 'use another file system',
  EACCES: 'check the permissions',
  EPERM: 'check the permissions',
  EROFS: 'use a writable directory',
};

/**
 * The last resort of the CLI for a system failure no caller explained: still one line, naming the
 * file Node names. Returns undefined when `err` is not a system failure.
 */
export function systemFailureLine(err: unknown): string | undefined {
  const problem = systemProblem(err);
  if (!problem) return undefined;
  const syscall = (err as { syscall?: unknown }).syscall;
  const where = problem.path ? ` (${typeof syscall === 'string' ? `${syscall} ` : ''}${problem.path})` : '';
  return `${problem.words} (${problem.code})${where}; ${FIXES[problem.code] ?? 'fix the cause'} and run the command again`;
}
