/**
 * The system call table: name → handler, as Linux's sys_call_table maps numbers to sys_*
 * functions. Adding a call is one handler in its family's file plus one line here (and, if
 * programs should have it, a libc-style wrapper on UserContext).
 *
 * ```
 *  ctx.syscall('mmap', …) ─► dispatchSyscall ─► SYSCALL_TABLE.get('mmap') ─► sysMmap(caller, args)
 *                                            └─ not in the table ─► -ENOSYS
 * ```
 */
import { ERRNO } from '../../linux-abi.js';
import type { SyscallArgs, SyscallCaller, SyscallHandler } from './handler.js';
import { sysClose, sysRead, sysWrite } from './io.js';
import { sysBrk, sysMmap, sysMprotect, sysMremap, sysMunmap, sysSbrk } from './memory.js';
import { sysExitGroup, sysFork, sysGetpid, sysGetppid, sysWait4 } from './process.js';
import {
  sysMadvise,
  sysMincore,
  sysMlock,
  sysMlock2,
  sysMlockall,
  sysMunlock,
  sysMunlockall,
} from './residency.js';
import { sysClone, sysExit, sysGettid } from './thread.js';

export const SYSCALL_TABLE: ReadonlyMap<string, SyscallHandler> = new Map([
  // memory
  ['brk', sysBrk],
  ['sbrk', sysSbrk],
  ['mmap', sysMmap],
  ['munmap', sysMunmap],
  ['mprotect', sysMprotect],
  ['mremap', sysMremap],
  // residency: advice, residency, locking
  ['madvise', sysMadvise],
  ['mincore', sysMincore],
  ['mlock', sysMlock],
  ['mlock2', sysMlock2],
  ['munlock', sysMunlock],
  ['mlockall', sysMlockall],
  ['munlockall', sysMunlockall],
  // I/O
  ['read', sysRead],
  ['write', sysWrite],
  ['close', sysClose],
  // processes
  ['getpid', sysGetpid],
  ['getppid', sysGetppid],
  ['exit', sysExit],
  ['exit_group', sysExitGroup],
  ['fork', sysFork],
  ['wait', sysWait4],
  ['waitpid', sysWait4],
  ['wait4', sysWait4],
  // threads
  ['clone', sysClone],
  ['gettid', sysGettid],
]);

/** Runs system call `name` for `caller`: its Linux value, -ENOSYS for an unknown name. */
export function dispatchSyscall(caller: SyscallCaller, name: string, args: SyscallArgs): number {
  const handler = SYSCALL_TABLE.get(name);
  return handler === undefined ? -ERRNO.ENOSYS : handler(caller, args);
}
