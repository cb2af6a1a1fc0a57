/** How the CLI ends: exit codes and the errors that choose them. */
import { WallosError } from '../errors.js';

/** Everything went well. */
export const EXIT_OK = 0;
/** The command ran and failed (a failed check, a trace that does not parse or verify). */
export const EXIT_FAILURE = 1;
/** The command line was wrong: a bad flag or value, a missing file. */
export const EXIT_USAGE = 2;

/** A mistake on the command line; the CLI exits with {@link EXIT_USAGE}. */
export class UsageError extends WallosError {
  constructor(message: string) {
    super('USAGE', message);
  }
}
