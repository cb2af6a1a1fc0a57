/**
 * The residency family: what stays in RAM. madvise (advice about a range's future use),
 * mincore (which pages are resident), and the mlock family (pages that must stay resident).
 * The work is the virtual-memory layer's (src/virtual/madvise.ts, mincore.ts, mlock.ts); each
 * handler checks its arguments' shape, calls it, and refreshes the caller's mm_struct.
 */
import { ERRNO, MLOCK_ONFAULT } from '../../linux-abi.js';
import { madvise } from '../../virtual/madvise.js';
import { mincore } from '../../virtual/mincore.js';
import { mlock, mlockall, mlockOnFault, munlock, munlockall } from '../../virtual/mlock.js';
import { numberArg, type SyscallCaller, type SyscallHandler } from './handler.js';
import { synced } from './memory.js';

/** madvise(2): address, length, advice. */
export const sysMadvise: SyscallHandler = (caller, args) =>
  synced(
    caller,
    madvise(caller.process.space, numberArg(args, 0), numberArg(args, 1), numberArg(args, 2)),
  );

/**
 * mincore(2): address, length, and the user address of a vector that gets one byte per page.
 * -EFAULT when the vector cannot be written.
 */
export const sysMincore: SyscallHandler = (caller, args) => {
  const vector = residency(caller, numberArg(args, 0), numberArg(args, 1));
  if (typeof vector === 'number') return vector;
  return caller.machine.vm.copyToUser(caller.process.space, numberArg(args, 2), vector);
};

/** mincore's vector for `[address, address + length)`, or a negative errno. */
export function residency(
  { process }: SyscallCaller,
  address: number,
  length: number,
): Uint8Array | number {
  return mincore(process.space, address, length);
}

/** mlock(2): address, length. */
export const sysMlock: SyscallHandler = (caller, args) =>
  synced(caller, mlock(caller.process.space, numberArg(args, 0), numberArg(args, 1)));

/** mlock2(2): address, length, flags (0 or MLOCK_ONFAULT). */
export const sysMlock2: SyscallHandler = (caller, args) => {
  const flags = numberArg(args, 2);
  const space = caller.process.space;
  if (flags === 0) return synced(caller, mlock(space, numberArg(args, 0), numberArg(args, 1)));
  if (flags !== MLOCK_ONFAULT) return -ERRNO.EINVAL;
  return synced(caller, mlockOnFault(space, numberArg(args, 0), numberArg(args, 1)));
};

/** munlock(2): address, length. */
export const sysMunlock: SyscallHandler = (caller, args) =>
  synced(caller, munlock(caller.process.space, numberArg(args, 0), numberArg(args, 1)));

/** mlockall(2): MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT. */
export const sysMlockall: SyscallHandler = (caller, args) =>
  synced(caller, mlockall(caller.process.space, numberArg(args, 0)));

/** munlockall(2). */
export const sysMunlockall: SyscallHandler = (caller) =>
  synced(caller, munlockall(caller.process.space));
