/** Option values: parsers throw commander's error, so a bad value is a usage error (exit 2). */
import { InvalidArgumentError } from 'commander';
import { InvalidArgumentError as WallosArgumentError } from '../errors.js';
import { parseSize } from '../hw/size.js';
import { Machine } from '../kernel/machine.js';
import { RECLAIM_POLICY_NAMES, type ReclaimPolicyName } from '../replacement/policy.js';
import { isReclaimPolicyName } from '../replacement/reclaim-policies.js';
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

/** `--reclaim linux,fifo`: one reclaim policy or several, comma-separated. */
export function reclaimPoliciesArgument(value: string): ReclaimPolicyName[] {
  const names = value.split(',');
  for (const name of names) {
    if (!isReclaimPolicyName(name)) {
      throw new InvalidArgumentError(
        `'${name}' is not a reclaim policy (${RECLAIM_POLICY_NAMES.join(', ')})`,
      );
    }
  }
  return names as ReclaimPolicyName[];
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

/** What a machine gets besides its RAM: CPUs, swap (bytes, 0: none) and reclaim policy. */
export interface MachineShape {
  cpus?: number;
  swap?: number;
  reclaim?: ReclaimPolicyName;
}

/**
 * Boots a machine with `memory` bytes of RAM and the given shape; a size no machine can have
 * is a usage error.
 */
export function bootMachine(memory: number, seed = 0, shape: MachineShape = {}): Machine {
  const { cpus = 1, swap = 0, reclaim = 'linux' } = shape;
  try {
    return Machine.boot({ memory, seed, cpus, reclaim, ...(swap > 0 ? { swap } : {}) });
  } catch (error) {
    if (error instanceof WallosArgumentError) throw new UsageError(`--memory: ${error.message}`);
    throw error;
  }
}
