import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { Shell } from '../../src/cli/shell.js';
import { Machine } from '../../src/kernel/machine.js';

/** One shell command over a small pool of pids, addresses and sizes. */
const command = fc.oneof(
  fc.constant('spawn p'),
  fc.nat(6).map((pid) => `fork ${pid}`),
  fc.nat(6).map((pid) => `kill ${pid}`),
  fc
    .tuple(fc.nat(6), fc.integer({ min: 0, max: 300_000 }))
    .map(([pid, size]) => `alloc ${pid} ${size}`),
  fc.tuple(fc.nat(6), fc.integer({ min: 1, max: 64 })).map(([pid, kib]) => `mmap ${pid} ${kib}K`),
  fc.nat(6).map((pid) => `free ${pid} LAST`),
  fc.nat(6).map((pid) => `touch ${pid} LAST 8K`),
  fc.nat(6).map((pid) => `touch ${pid} 0x10`),
  fc.nat(6).map((pid) => `walk ${pid} LAST`),
  fc.constant('ps'),
  fc.constant('tlb'),
  fc.constant('cat /proc/meminfo'),
);

describe('shell commands against the machine', () => {
  it('any command sequence leaves the kernel consistent; killing all gives back all memory', () => {
    fc.assert(
      fc.property(fc.array(command, { maxLength: 30 }), (commands) => {
        const machine = Machine.boot({ memory: '32M' });
        const shell = new Shell(machine, 32 * 1024 * 1024);
        let last = '0x400000';
        for (const line of commands) {
          try {
            const output = shell.execute(line.replace('LAST', last));
            last = /= (0x[0-9a-f]{16})/.exec(output)?.[1] ?? last;
          } catch (error) {
            // bad pids, dead processes, wild frees: a message, never a crash of the shell
            expect((error as Error).message).not.toBe('');
          }
        }
        expect(machine.oopses).toEqual([]);
        for (const process of machine.processList) {
          if (!process.ended) shell.execute(`kill ${process.pid}`);
        }
        expect(machine.processList.filter((p) => !p.ended)).toEqual([]);
        machine.check();
        machine.dropCaches();
        expect(machine.frames.freeFrames).toBe(machine.bootFreeFrames);
      }),
      { numRuns: 100 },
    );
  });
});
