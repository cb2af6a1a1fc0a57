/** Parsers of option values: each throws commander's error, so a bad value is a usage error. */
import { InvalidArgumentError } from 'commander';
import { parseSize } from '../hw/size.js';

/** `--memory 256M`: a byte count with an optional K/M/G suffix. */
export function sizeArgument(value: string): number {
  try {
    return parseSize(value);
  } catch (error) {
    throw new InvalidArgumentError(error instanceof Error ? error.message : String(error));
  }
}

/** A non-negative integer such as a seed or a count. */
export function integerArgument(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) {
    throw new InvalidArgumentError(`'${value}' is not a non-negative integer`);
  }
  return n;
}

/** A positive integer such as a number of operations. */
export function positiveIntegerArgument(value: string): number {
  const n = integerArgument(value);
  if (n === 0) throw new InvalidArgumentError('must be at least 1');
  return n;
}
