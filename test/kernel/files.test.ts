/**
 * File descriptors across fork: fds 0-2 of a spawned process refer to open files that fork
 * shares by reference (one stdout, in the order of the writes; one stdin offset), released at
 * exit; a bad fd is EBADF.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { SyscallError } from '../../src/kernel/errors.js';
import { Machine } from '../../src/kernel/machine.js';
import type { Process } from '../../src/kernel/process.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import { ERRNO, MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/linux-abi.js';
import { finish } from './helpers.js';

/** A page of the caller's for I/O buffers. */
function buffer(ctx: UserContext): number {
  return ctx.mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
}

/** write(1) of `text` through user memory at `va`. */
function say(ctx: UserContext, va: number, text: string): void {
  const bytes = new TextEncoder().encode(text);
  ctx.writeBytes(va, bytes);
  expect(ctx.write(1, va, bytes.length)).toBe(bytes.length);
}

/** read(0) of up to `length` bytes, as text. */
function hear(ctx: UserContext, va: number, length: number): string {
  const count = ctx.read(0, va, length);
  return new TextDecoder().decode(ctx.readBytes(va, count));
}

/** Every open file of the spawned process has no reference left (call after `finish`). */
function expectReleased(process: Process): void {
  const { stdin, stdout, stderr } = process.standard;
  expect([stdin.refs, stdout.refs, stderr.refs]).toEqual([0, 0, 0]);
  expect(process.files.openFiles()).toEqual([]);
}

describe('file descriptors across fork', () => {
  it("puts a child's writes into the one stdout, interleaved with its parent's as they ran", () => {
    const machine = Machine.boot({ memory: '32M' });
    const handle = machine.spawn(function* parent(ctx) {
      const va = buffer(ctx);
      say(ctx, va, 'a');
      ctx.fork(function* child(c) {
        say(c, va, '1');
        yield;
        say(c, va, '2');
        yield;
        say(c, va, '3');
      });
      yield;
      say(ctx, va, 'b');
      yield;
      say(ctx, va, 'c');
      expect(ctx.wait().exitCode).toBe(0);
      say(ctx, va, '.');
    });
    const process = machine.process(handle.pid)!;
    expect(process.files.openFiles()).toHaveLength(3);
    expect(process.standard.stdout.refs).toBe(1);
    finish(machine);
    expect(handle.stdout).toBe('a1b2c3.');
    expectReleased(process);
  });

  it('shares the offset of stdin: what one process reads the other does not', () => {
    const machine = Machine.boot({ memory: '32M' });
    const handle = machine.spawn(
      (ctx) => {
        const va = buffer(ctx);
        say(ctx, va, `${hear(ctx, va, 3)}|`);
        ctx.fork((child) => say(child, va, `${hear(child, va, 3)}|`));
        ctx.wait();
        say(ctx, va, `${hear(ctx, va, 100)}|`);
        say(ctx, va, `${ctx.read(0, va, 100)}`);
      },
      { stdin: 'abcdefghi' },
    );
    finish(machine);
    expect(handle.stdout).toBe('abc|def|ghi|0');
  });

  it('keeps the output of a child that outlives its parent, and releases the files after both', () => {
    const machine = Machine.boot({ memory: '32M' });
    const handle = machine.spawn((ctx) => {
      const va = buffer(ctx);
      ctx.fork(function* orphan(child) {
        yield;
        expect(child.getppid()).toBe(0);
        say(child, va, 'after my parent');
      });
      say(ctx, va, 'parent done, ');
    });
    const process = machine.process(handle.pid)!;
    machine.run();
    expect(handle.stdout).toBe('parent done, after my parent');
    finish(machine);
    expectReleased(process);
  });

  it('sends the kernel report of a forked child killed by SIGSEGV to the stderr it inherited', () => {
    const machine = Machine.boot({ memory: '32M' });
    const handle = machine.spawn((ctx) => {
      ctx.fork((child) => child.store8(0, 1));
      expect(ctx.wait().signal).toBe(11);
    });
    finish(machine);
    expect(handle.stderr).toMatch(
      /^program\[2\]: segfault at 0x0000000000000000 \(write, SEGV_MAPERR\)\n$/,
    );
  });

  it('answers EBADF for a closed fd, a negative or odd one, and one open the other way', () => {
    const machine = Machine.boot({ memory: '32M' });
    const results: number[] = [];
    let thrown: unknown = null;
    const handle = machine.spawn(
      (ctx) => {
        const va = buffer(ctx);
        for (const fd of [3, 64, -1, 1.5, Number.NaN, 2 ** 53]) {
          results.push(ctx.syscall('write', fd, va, 1), ctx.syscall('read', fd, va, 1));
        }
        results.push(ctx.syscall('write', 0, va, 1), ctx.syscall('read', 1, va, 1));
        results.push(ctx.syscall('read', 2, va, 1), ctx.syscall('write', '1', va, 1));
        try {
          ctx.write(7, va, 1);
        } catch (error) {
          thrown = error;
        }
        results.push(ctx.syscall('read', 0, va, 2));
      },
      { stdin: 'in' },
    );
    finish(machine);
    expect(results.slice(0, -1)).toEqual(results.slice(0, -1).map(() => -ERRNO.EBADF));
    expect(results.at(-1)).toBe(2); // stdin untouched by the failed calls
    expect(thrown).toBeInstanceOf(SyscallError);
    expect((thrown as SyscallError).code).toBe('EBADF');
    expect([handle.stdout, handle.stderr]).toEqual(['', '']);
  });

  it('closes an fd for one process only: EBADF after, the file stays open for the others', () => {
    const machine = Machine.boot({ memory: '32M' });
    const results: number[] = [];
    const handle = machine.spawn((ctx) => {
      const va = buffer(ctx);
      ctx.fork(function* early(child) {
        yield;
        say(child, va, 'early child still writes; ');
      });
      ctx.close(1);
      results.push(ctx.syscall('write', 1, va, 1), ctx.syscall('close', 1));
      ctx.fork((child) => void results.push(child.syscall('write', 1, va, 1)));
      ctx.wait();
      ctx.wait();
      results.push(ctx.syscall('close', 0), ctx.syscall('read', 0, va, 1), ctx.syscall('close', 7));
    });
    const process = machine.process(handle.pid)!;
    finish(machine);
    const EBADF = -ERRNO.EBADF;
    expect(results).toEqual([EBADF, EBADF, EBADF, 0, EBADF, EBADF]);
    expect(handle.stdout).toBe('early child still writes; ');
    expectReleased(process);
  });

  it('matches a shadow log for any tree of forks, writes, reads and yields', () => {
    type Step =
      | { op: 'write' }
      | { op: 'read'; length: number }
      | { op: 'yield' }
      | { op: 'fork'; steps: Step[] };
    const leaf = fc.oneof(
      fc.constant<Step>({ op: 'write' }),
      fc.constant<Step>({ op: 'yield' }),
      fc.integer({ min: 0, max: 4 }).map((length): Step => ({ op: 'read', length })),
    );
    const steps = fc.letrec<{ steps: Step[] }>((tie) => ({
      steps: fc.array(
        fc.oneof(
          { depthSize: 'small', withCrossShrink: true },
          leaf,
          tie('steps').map((inner): Step => ({ op: 'fork', steps: inner as Step[] })),
        ),
        { maxLength: 6 },
      ),
    })).steps;
    fc.assert(
      fc.property(steps, fc.string({ maxLength: 24 }), (program, input) => {
        const machine = Machine.boot({ memory: '16M' });
        const written: string[] = [];
        const read: string[] = [];
        let next = 0;
        const run = (body: Step[]) =>
          function* (ctx: UserContext) {
            const va = buffer(ctx);
            for (const step of body) {
              if (step.op === 'yield') yield;
              if (step.op === 'fork') ctx.fork(run(step.steps));
              if (step.op === 'read') read.push(hear(ctx, va, step.length));
              if (step.op === 'write') {
                const token = `<${next++}>`;
                written.push(token);
                say(ctx, va, token);
              }
            }
          };
        const bytes = new TextEncoder().encode(input);
        const handle = machine.spawn(run(program), { stdin: bytes });
        const process = machine.process(handle.pid)!;
        finish(machine);
        expect(handle.stdout).toBe(written.join(''));
        const consumed = new TextEncoder().encode(read.join(''));
        expect(consumed).toEqual(bytes.subarray(0, consumed.length));
        expectReleased(process);
      }),
      { numRuns: 60 },
    );
  });
});
