import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/kernel/machine.js';
import { SYSCALL_TABLE } from '../../src/kernel/syscalls/table.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import { ERRNO } from '../../src/linux-abi.js';
import { finish } from './helpers.js';

describe('the system call table', () => {
  it('dispatches every name in the table and answers -ENOSYS for any other, prototype names too', () => {
    const machine = Machine.boot({ memory: '16M' });
    const results = new Map<string, number>();
    machine.spawn((ctx: UserContext) => {
      results.set('getpid', ctx.syscall('getpid'));
      results.set('brk', ctx.syscall('brk', 0));
      for (const name of ['nonsense', 'toString', 'constructor', '__proto__', ''])
        results.set(name, ctx.syscall(name));
    });
    finish(machine);
    expect(results.get('getpid')).toBe(1);
    expect(results.get('brk')).toBeGreaterThan(0);
    for (const name of ['nonsense', 'toString', 'constructor', '__proto__', ''])
      expect(results.get(name)).toBe(-ERRNO.ENOSYS);
  });

  it('holds the calls of the contract, each by its Linux name', () => {
    const names = ['brk', 'sbrk', 'mmap', 'munmap', 'mprotect', 'read', 'write', 'getpid'];
    for (const name of [...names, 'getppid', 'exit', 'exit_group', 'fork', 'wait', 'wait4'])
      expect(typeof SYSCALL_TABLE.get(name), name).toBe('function');
  });
});
