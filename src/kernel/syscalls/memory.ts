/**
 * The memory family: brk, sbrk, mmap, munmap, mprotect, mremap. Each changes the caller's address
 * space, then refreshes its mm_struct so /proc and the checker see the new layout.
 */
import { ERRNO } from '../../linux-abi.js';
import { numberArg, type SyscallCaller, type SyscallHandler } from './handler.js';

/** brk(2): the new break, or the unchanged one when it cannot move (`brk(0)` asks for it). */
export const sysBrk: SyscallHandler = (caller, args) =>
  synced(caller, caller.process.space.setBrk(numberArg(args, 0)));

/** sbrk as a raw call: the previous break, or -ENOMEM. */
export const sysSbrk: SyscallHandler = (caller, args) => {
  const old = synced(caller, caller.process.space.moveBreak(numberArg(args, 0)));
  return old < 0 ? -ERRNO.ENOMEM : old;
};

/** mmap(2) of anonymous memory: address, length, prot, flags (fd and offset are not used). */
export const sysMmap: SyscallHandler = (caller, args) =>
  synced(
    caller,
    caller.process.space.mmap(
      numberArg(args, 0),
      numberArg(args, 1),
      numberArg(args, 2),
      numberArg(args, 3),
    ),
  );

export const sysMunmap: SyscallHandler = (caller, args) =>
  synced(caller, caller.process.space.munmap(numberArg(args, 0), numberArg(args, 1)));

export const sysMprotect: SyscallHandler = (caller, args) =>
  synced(
    caller,
    caller.process.space.mprotect(numberArg(args, 0), numberArg(args, 1), numberArg(args, 2)),
  );

/** mremap(2): old address, old length, new length, flags, new address (MREMAP_FIXED). */
export const sysMremap: SyscallHandler = (caller, args) =>
  synced(
    caller,
    caller.process.space.mremap(
      numberArg(args, 0),
      numberArg(args, 1),
      numberArg(args, 2),
      numberArg(args, 3),
      args.length > 4 ? numberArg(args, 4) : 0,
    ),
  );

/** Writes the changed address space into the caller's mm_struct, then passes `result` on. */
export function synced(caller: SyscallCaller, result: number): number {
  caller.machine.syncMm(caller.process);
  return result;
}
