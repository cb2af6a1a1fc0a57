import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  ERRNO,
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  SIGKILL,
  SIGSEGV,
} from '../../src/linux-abi.js';
import { expectClean, finish } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;
/** vm_end in a vm_area_struct (kernel-objects.ts). */
const VMA_END_OFFSET = 8;

function text(ctx: UserContext, va: number, s: string): number {
  const bytes = new TextEncoder().encode(s);
  ctx.writeBytes(va, bytes);
  return bytes.length;
}

describe('processes', () => {
  it('exit codes, return values and stdout reach the handle', () => {
    const machine = Machine.boot({ memory: '64M' });
    const a = machine.spawn((ctx) => {
      const buf = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.write(1, buf, text(ctx, buf, 'hello\n'));
      ctx.exit(3);
    });
    const b = machine.spawn(() => 42);
    finish(machine);
    expect([a.exitCode, a.signal, a.stdout]).toEqual([3, null, 'hello\n']);
    expect([b.exitCode, b.signal]).toEqual([42, null]);
  });

  it('generators interleave round-robin at each yield', () => {
    const machine = Machine.boot({ memory: '64M' });
    const order: string[] = [];
    for (const name of ['a', 'b']) {
      machine.spawn(
        function* () {
          for (let i = 0; i < 3; i++) {
            order.push(`${name}${i}`);
            yield;
          }
        },
        { name },
      );
    }
    finish(machine);
    expect(order).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  });

  it('a fork tree: children get copies, parents wait for statuses (also from plain functions)', () => {
    const machine = Machine.boot({ memory: '64M' });
    const parent = machine.spawn((ctx) => {
      const page = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.store32(page, 1000);
      const pids: number[] = [];
      for (let i = 1; i <= 3; i++) {
        pids.push(
          ctx.fork((child) => {
            const seen = child.load32(page);
            child.store32(page, i);
            const grandchild = child.fork((g) => g.exit(g.load32(page) + 10));
            const status = child.wait(grandchild);
            child.exit(seen === 1000 && status.exitCode === i + 10 ? i : 99);
          }),
        );
      }
      const codes = pids.map((pid) => ctx.wait(pid).exitCode);
      return codes.join('') === '123' && ctx.load32(page) === 1000 ? 0 : 1;
    });
    finish(machine);
    expect(parent.exitCode).toBe(0);
  });

  it('wait gives ECHILD without children, and the Linux status word', () => {
    const machine = Machine.boot({ memory: '64M' });
    const p = machine.spawn((ctx) => {
      let echild = '';
      try {
        ctx.wait(12345);
      } catch (error) {
        echild = (error as { code: string }).code;
      }
      const pid = ctx.fork((c) => c.exit(7));
      const status = ctx.wait(pid);
      return echild === 'ECHILD' && status.status === 7 << 8 && status.pid === pid ? 0 : 1;
    });
    finish(machine);
    expect(p.exitCode).toBe(0);
  });

  it('wait(-1) reaps a child that has ended before one that still runs, as Linux', () => {
    const machine = Machine.boot({ memory: '64M' });
    const reaped: number[] = [];
    let endOrder: number[] = [];
    const parent = machine.spawn(function* parent(ctx: UserContext) {
      const slow = ctx.fork(function* slow() {
        for (let slice = 0; slice < 5; slice++) yield;
      });
      const quick = ctx.fork(() => 0);
      endOrder = [quick, slow];
      while (machine.process(quick)?.state !== 'zombie') yield;
      reaped.push(ctx.wait().pid, ctx.wait().pid);
    });
    finish(machine);
    expectClean(parent);
    expect(reaped).toEqual(endOrder);
  });

  it('a thread reaps the child its leader waits for: the leader gets ECHILD, the child is reaped once', () => {
    const machine = Machine.boot({ memory: '64M' });
    const waits: string[] = [];
    const waitFor = (ctx: UserContext, pid: number, who: string) => {
      try {
        waits.push(`${who}: pid ${ctx.wait(pid).pid === pid ? 'child' : 'other'}`);
      } catch (error) {
        waits.push(`${who}: ${(error as { code: string }).code}`);
      }
    };
    const leader = machine.spawn((ctx) => {
      const child = ctx.fork(function* child() {
        for (let slice = 0; slice < 3; slice++) yield;
      });
      ctx.thread((thread) => waitFor(thread, child, 'thread'));
      waitFor(ctx, child, 'leader');
    });
    finish(machine);
    expectClean(leader);
    expect(waits).toEqual(['thread: pid child', 'leader: ECHILD']);
  });

  it('a segfault kills only that process and frees what it held', () => {
    const machine = Machine.boot({ memory: '64M' });
    const bad = machine.spawn((ctx) => {
      const big = ctx.mmap(0, 64 * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < 64; i++) ctx.store8(big + i * PAGE_SIZE, 1);
      ctx.load32(0);
      return 0;
    });
    const good = machine.spawn((ctx) => {
      const page = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.store32(page, 5);
      return ctx.load32(page);
    });
    finish(machine);
    expect([bad.exitCode, bad.signal]).toEqual([null, SIGSEGV]);
    expect(bad.fault).toMatchObject({ address: 0, kind: 'SEGV_MAPERR', access: 'read' });
    expect(good.exitCode).toBe(5);
  });

  it('a program that catches its own termination is still dead', () => {
    const machine = Machine.boot({ memory: '64M' });
    const p = machine.spawn((ctx) => {
      try {
        ctx.store32(0x1000, 1);
      } catch {
        // swallowing the kill does not bring the process back
      }
      return ctx.getpid();
    });
    finish(machine);
    expect(p.signal).toBe(SIGSEGV);
  });

  it('user code cannot read or write kernel memory or jump there', () => {
    const machine = Machine.boot({ memory: '64M' });
    const kernel = -0x778000000000 + 0x200000;
    const attempts = [
      (ctx: UserContext) => ctx.load8(kernel),
      (ctx: UserContext) => ctx.store32(kernel, 0),
      (ctx: UserContext) => ctx.jump(-0x80000000),
      (ctx: UserContext) => ctx.load32(2 ** 47 + 5),
    ];
    const handles = attempts.map((attempt) => machine.spawn((ctx) => attempt(ctx)));
    finish(machine);
    for (const h of handles) expect(h.signal).toBe(SIGSEGV);
  });
});

describe('system calls with bad pointers', () => {
  it('give EFAULT and leave no partial state', () => {
    const machine = Machine.boot({ memory: '64M' });
    const results: number[] = [];
    const p = machine.spawn(
      (ctx) => {
        const page = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
        ctx.munmap(page + PAGE_SIZE, PAGE_SIZE);
        text(ctx, page + PAGE_SIZE - 4, 'abcd');
        results.push(ctx.syscall('write', 1, 0, 4));
        results.push(ctx.syscall('write', 1, -0x80000000, 4));
        results.push(ctx.syscall('write', 1, 2 ** 47 - 2, 4));
        results.push(ctx.syscall('write', 1, page + PAGE_SIZE - 4, 8));
        results.push(ctx.syscall('read', 0, 0, 4));
        ctx.mprotect(page, PAGE_SIZE, PROT_READ);
        results.push(ctx.syscall('read', 0, page, 4));
        results.push(ctx.syscall('write', 1, page + PAGE_SIZE - 4, 4));
        results.push(ctx.syscall('write', 9, page, 4));
        results.push(ctx.syscall('nonsense'));
      },
      { stdin: 'input' },
    );
    finish(machine);
    const EFAULT = -ERRNO.EFAULT;
    expect(results).toEqual([
      EFAULT,
      EFAULT,
      EFAULT,
      EFAULT,
      EFAULT,
      EFAULT,
      4,
      -ERRNO.EBADF,
      -ERRNO.ENOSYS,
    ]);
    expect(p.stdout).toBe('abcd');
  });

  it('read copies stdin into user memory', () => {
    const machine = Machine.boot({ memory: '64M' });
    let got = '';
    const handle = machine.spawn(
      (ctx) => {
        const page = ctx.mmap(0, PAGE_SIZE, RW, ANON);
        const n = ctx.read(0, page, 100);
        got = new TextDecoder().decode(ctx.readBytes(page, n));
        expect(ctx.read(0, page, 100)).toBe(0);
      },
      { stdin: 'from stdin' },
    );
    finish(machine);
    expectClean(handle);
    expect(got).toBe('from stdin');
  });

  it('wrappers throw errors whose code is the errno name', () => {
    const machine = Machine.boot({ memory: '64M' });
    const codes: string[] = [];
    machine.spawn((ctx) => {
      for (const call of [
        () => ctx.munmap(1, PAGE_SIZE),
        () => ctx.mmap(0, 0, RW, ANON),
        () => ctx.mprotect(0x10000000, PAGE_SIZE, PROT_READ),
        () => ctx.write(1, 0, 1),
      ]) {
        try {
          call();
        } catch (error) {
          codes.push((error as { code: string }).code);
        }
      }
    });
    finish(machine);
    expect(codes).toEqual(['EINVAL', 'EINVAL', 'ENOMEM', 'EFAULT']);
  });
});

describe('memory pressure', () => {
  it('a process that exhausts memory is OOM-killed and the machine recovers', () => {
    const machine = Machine.boot({ memory: '32M' });
    const hog = machine.spawn((ctx) => {
      const size = 64 * 1024 * 1024;
      const base = ctx.mmap(0, size, RW, ANON);
      for (let va = base; va < base + size; va += PAGE_SIZE) ctx.store8(va, 1);
      return 0;
    });
    finish(machine);
    expect(hog.signal).toBe(SIGKILL);
    expect(machine.oomKills).toBe(1);
    const after = machine.spawn((ctx) => {
      const base = ctx.mmap(0, 1024 * 1024, RW, ANON);
      for (let va = base; va < base + 1024 * 1024; va += PAGE_SIZE) ctx.store8(va, 1);
      return 0;
    });
    finish(machine);
    expect(after.exitCode).toBe(0);
  });

  it('fork of a process holding more than half of RAM works by COW (cowtest)', () => {
    const machine = Machine.boot({ memory: '32M' });
    const p = machine.spawn((ctx) => {
      const size = 18 * 1024 * 1024;
      const base = ctx.mmap(0, size, RW, ANON);
      for (let va = base; va < base + size; va += PAGE_SIZE) ctx.store8(va, 7);
      const pid = ctx.fork((child) => child.exit(child.load8(base + size - PAGE_SIZE)));
      return ctx.wait(pid).exitCode;
    });
    finish(machine);
    expect(p.exitCode).toBe(7);
  });
});

describe('machine.check', () => {
  it('passes while processes are alive and running, not only after they end', () => {
    const machine = Machine.boot({ memory: '64M' });
    const checks: string[] = [];
    machine.spawn(function* (ctx) {
      const page = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < 4; i++) ctx.store32(page + i * PAGE_SIZE, i);
      yield;
      ctx.fork(function* (child) {
        child.store32(page, 9);
        yield;
      });
      yield;
    });
    machine.spawn(function* () {
      for (let i = 0; i < 3; i++) {
        try {
          machine.check();
          checks.push('ok');
        } catch (error) {
          checks.push((error as Error).message);
        }
        yield;
      }
    });
    finish(machine);
    expect(checks).toEqual(['ok', 'ok', 'ok']);
  });
});

/** VmSize from /proc/self/status, in bytes. */
function vmSize(machine: Machine): number {
  return Number(/VmSize:\s+(\d+) kB/.exec(machine.procfs.read('/proc/self/status'))![1]) * 1024;
}

/** The bytes the lines of /proc/self/maps cover. */
function mapsBytes(machine: Machine): number {
  let total = 0;
  for (const line of machine.procfs.read('/proc/self/maps').trim().split('\n')) {
    const [start, end] = line
      .split(' ')[0]!
      .split('-')
      .map((hex) => Number.parseInt(hex, 16));
    total += end! - start!;
  }
  return total;
}

describe('VmSize (total_vm), kept as areas change', () => {
  it('equals the areas after every kind of change; check() fails on an area changed behind the list', () => {
    const machine = Machine.boot({ memory: '16M' });
    const sizes: number[] = [];
    const p = machine.spawn((ctx) => {
      const space = machine.process(ctx.pid)!.space;
      const expectVmSize = () => {
        expect(vmSize(machine)).toBe(mapsBytes(machine));
        machine.check();
        sizes.push(vmSize(machine));
      };
      expectVmSize();
      const area = ctx.mmap(0, 16 * PAGE_SIZE, RW, ANON);
      expectVmSize();
      ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON); // below it, alike: the area grows down
      expectVmSize();
      ctx.munmap(area + 4 * PAGE_SIZE, 2 * PAGE_SIZE); // a hole
      expectVmSize();
      ctx.munmap(area + 14 * PAGE_SIZE, 2 * PAGE_SIZE); // the top trimmed
      expectVmSize();
      ctx.mprotect(area + 8 * PAGE_SIZE, PAGE_SIZE, PROT_READ); // split in three
      expectVmSize();
      const moved = ctx.mremap(area + 10 * PAGE_SIZE, 4 * PAGE_SIZE, 64 * PAGE_SIZE, 1);
      expectVmSize();
      ctx.mremap(moved, 64 * PAGE_SIZE, 8 * PAGE_SIZE, 0); // shrunk in place
      expectVmSize();
      ctx.sbrk(8 * PAGE_SIZE);
      expectVmSize();
      ctx.sbrk(-4 * PAGE_SIZE);
      expectVmSize();
      const stack = space.stack!;
      ctx.store32(stack.start - 3 * PAGE_SIZE, 1); // the stack grows down
      expectVmSize();
      // An area changed behind the list's back: VmSize and the list's copy of the bounds are
      // wrong now, and the checker says so.
      const top = space.vmas.find(moved)! as { end: number };
      top.end -= PAGE_SIZE;
      expect(() => machine.check()).toThrow(/VmSize \d+ but areas of \d+/);
      expect(() => machine.check()).toThrow(/VMA list's bounds differ from its areas/);
      top.end += PAGE_SIZE;
      machine.check();
      return 0;
    });
    machine.run();
    expect(p.exitCode).toBe(0);
    // Each step's change in pages: what the call mapped or unmapped (mprotect: nothing).
    const steps = sizes.slice(1).map((size, i) => (size - sizes[i]!) / PAGE_SIZE);
    expect(steps).toEqual([16, 4, -2, -2, 0, 60, -56, 8, -4, 3]);
  });
});

describe('machine.check() and the page tables', () => {
  it('fails when an entry is written behind the tables, in a group its occupancy marks empty', () => {
    const machine = Machine.boot({ memory: '16M' });
    const p = machine.spawn((ctx) => {
      const space = machine.process(ctx.pid)!.space;
      const area = ctx.mmap(0, 64 * PAGE_SIZE, RW, ANON);
      ctx.store32(area, 1); // the table exists; its first group holds a leaf
      machine.check();
      // 40 pages on (another group of 16 entries, or another table): not through the tables.
      const at = space.tables.entry(area + 40 * PAGE_SIZE, 1, true, true);
      machine.ram.store32(at, 0x200);
      expect(() => machine.check()).toThrow(/a page-table entry lies in a group marked empty/);
      machine.ram.store32(at, 0);
      machine.check();
      return 0;
    });
    machine.run();
    expect(p.exitCode).toBe(0);
  });
});

describe('machine.check() and the VMA records', () => {
  it('fails when a VMA record in kernel memory is overwritten, or one is leaked', () => {
    const machine = Machine.boot({ memory: '16M' });
    const p = machine.spawn((ctx) => {
      const area = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON);
      const record = machine.process(ctx.pid)!.space.vmas.find(area)!.record;
      machine.check();
      const end = VMA_END_OFFSET;
      const saved = machine.atCpl0(() => machine.mmu.load32(record + end));
      machine.atCpl0(() => machine.mmu.store32(record + end, saved + PAGE_SIZE));
      expect(() => machine.check()).toThrow(/differs from its record/);
      machine.atCpl0(() => machine.mmu.store32(record + end, saved));
      const leaked = machine.objects.vmas.alloc();
      expect(() => machine.check()).toThrow(/records, \d+ VMAs/);
      machine.objects.vmas.free(leaked);
      machine.check();
      return 0;
    });
    machine.run();
    expect(p.exitCode).toBe(0);
  });
});
