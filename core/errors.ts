import fs from 'node:fs';

/**
 * Errors that help: every error Loupe shows a person carries a message written for them
 * and, where one exists, the next step. The technical cause stays attached for the log.
 */
export type ErrorCode =
  | 'invalid-input'
  | 'not-found'
  | 'conflict'
  | 'unsupported'
  | 'disk-full'
  | 'io'
  | 'cancelled'
  | 'internal';

export class LoupeError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, options: { hint?: string; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'LoupeError';
    this.code = code;
    this.hint = options.hint;
  }

  toJSON(): { code: ErrorCode; message: string; hint?: string } {
    return this.hint ? { code: this.code, message: this.message, hint: this.hint } : { code: this.code, message: this.message };
  }
}

/** Bytes free on the file system holding `dir`, or undefined when it cannot be asked. */
function freeBytes(dir: string): number | undefined {
  try {
    const st = fs.statfsSync(dir);
    return st.bavail * st.bsize;
  } catch {
    return undefined;
  }
}

/**
 * Turns any thrown value into a LoupeError, recognising the OS errors a person can act on.
 * SQLite reports a full disk as SQLITE_FULL only for some writes (growing its shared-memory file
 * gives an I/O error), so given the folder written to, a generic I/O error on a nearly full disk
 * is reported as what it is.
 */
export function asLoupeError(err: unknown, writingTo?: string): LoupeError {
  if (err instanceof LoupeError) return err;
  let code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (writingTo && code !== undefined && /^(SQLITE_IOERR|EIO)/.test(code)) {
    const free = freeBytes(writingTo);
    if (free !== undefined && free < 8 * 2 ** 20) code = 'ENOSPC';
  }
  const detail = err instanceof Error ? err.message : String(err);
  switch (code) {
    case 'ENOSPC':
    case 'SQLITE_FULL':
      return new LoupeError('disk-full', 'The disk is full.', {
        hint: 'Free some space on the drive that holds the project, then resume the job: nothing already saved is lost.',
        cause: err,
      });
    case 'EACCES':
    case 'EPERM':
      return new LoupeError('io', `Permission denied: ${detail}`, { hint: 'Check that Loupe may read this file or folder.', cause: err });
    case 'ENOENT':
      return new LoupeError('not-found', `Not found: ${detail}`, { cause: err });
    default:
      return new LoupeError('internal', detail, { cause: err });
  }
}
