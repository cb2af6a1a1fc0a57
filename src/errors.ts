/**
 * The root of every error wallos-memory throws on purpose.
 *
 * Each layer derives its own errors from {@link WallosError} so a caller can catch one layer's
 * failures by class and read a stable machine-readable `code` (like Node's `err.code`).
 */
export class WallosError extends Error {
  /** A stable identifier, e.g. `'EFAULT'`, `'MACHINE_CHECK'`, `'DOUBLE_FREE'`. */
  readonly code: string;

  constructor(code: string, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

/** A bad argument given to a library function (not a syscall: those return `-EINVAL`). */
export class InvalidArgumentError extends WallosError {
  constructor(message: string) {
    super('EINVAL', message);
  }
}
