/** Option values: parsers throw commander's error, so a bad value is a usage error (exit 2). */
import { InvalidArgumentError } from 'commander';
import { InvalidArgumentError as WallosArgumentError } from '../errors.js';
import { parseSize } from '../hw/size.js';
import { Machine } from '../kernel/machine.js';
import { MAX_CPUS } from '../virtual/smp/cpus.js';
import { UsageError } from './errors.js';

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

const HIGHEST_PORT = 65535;

/** A TCP port, 0..65535 (0: any free port). */
export function portArgument(value: string): number {
  const port = integerArgument(value);
  if (port > HIGHEST_PORT)
    throw new InvalidArgumentError(`${port} is not a port (0..${HIGHEST_PORT})`);
  return port;
}

/** `--cpus 4`: how many CPUs the machine has, 1..64. */
export function cpusArgument(value: string): number {
  const cpus = integerArgument(value);
  if (cpus < 1 || cpus > MAX_CPUS) throw new InvalidArgumentError(`must be 1..${MAX_CPUS}`);
  return cpus;
}

/**
 * Boots a machine with `memory` bytes of RAM and `cpus` CPUs; a size no machine can have is
 * a usage error.
 */
export function bootMachine(memory: number, seed = 0, cpus = 1): Machine {
  try {
    return Machine.boot({ memory, seed, cpus });
  } catch (error) {
    if (error instanceof WallosArgumentError) throw new UsageError(`--memory: ${error.message}`);
    throw error;
  }
}
