/**
 * madvise, mincore and the mlock family through a process's user context, after the cases of
 * Linux's selftests (tools/testing/selftests/mm: mincore_selftest.c, mlock2-tests.c,
 * madv_populate.c), written for this machine.
 */
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import {
  MADV_COLD,
  MADV_DONTNEED,
  MADV_FREE,
  MADV_NORMAL,
  MADV_PAGEOUT,
  MADV_POPULATE_READ,
  MADV_POPULATE_WRITE,
  MADV_WILLNEED,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_LOCKED,
  MAP_PRIVATE,
  MAP_SHARED,
  MCL_CURRENT,
  MCL_FUTURE,
  MCL_ONFAULT,
  MLOCK_ONFAULT,
  PROT_NONE,
  PROT_READ,
  PROT_WRITE,
} from '../../src/index.js';
import { FaultInjector } from '../../src/kernel/fault-injection.js';
import type { Machine } from '../../src/kernel/machine.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import { kbField, vmstatField } from '../procfs/fields.js';
import { inProcess } from './helpers.js';

const RW = PROT_READ | PROT_WRITE;
const ANON = MAP_PRIVATE | MAP_ANONYMOUS;

function errnoOf(call: () => unknown): string | undefined {
  try {
    call();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

function statusField(machine: Machine, ctx: UserContext, field: string): number {
  return kbField(machine.procfs.read(`/proc/${ctx.pid}/status`), field);
}

function meminfoField(machine: Machine, field: string): number {
  return kbField(machine.procfs.read('/proc/meminfo'), field);
}

function mapsLines(machine: Machine, ctx: UserContext): string[] {
  return machine.procfs.read(`/proc/${ctx.pid}/maps`).trim().split('\n');
}

describe('mincore (mincore_selftest.c)', () => {
  it('rejects an unaligned address (EINVAL) and an unmapped page (ENOMEM)', () => {
    inProcess((ctx) => {
      const base = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON);
      expect(errnoOf(() => ctx.mincore(base + 1, PAGE_SIZE))).toBe('EINVAL');
      ctx.munmap(base + PAGE_SIZE, PAGE_SIZE);
      expect(errnoOf(() => ctx.mincore(base, 4 * PAGE_SIZE))).toBe('ENOMEM');
      expect(errnoOf(() => ctx.mincore(base + PAGE_SIZE, PAGE_SIZE))).toBe('ENOMEM');
      expect(errnoOf(() => ctx.mincore(-PAGE_SIZE, PAGE_SIZE))).toBe('ENOMEM');
      expect(ctx.mincore(base, 0)).toEqual(new Uint8Array(0));
    });
  });

  it('reports an anonymous page resident once touched, one byte per page', () => {
    inProcess((ctx) => {
      const base = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON);
      expect([...ctx.mincore(base, 4 * PAGE_SIZE)]).toEqual([0, 0, 0, 0]);
      ctx.store8(base + 2 * PAGE_SIZE + 7, 1);
      ctx.load8(base);
      expect([...ctx.mincore(base, 4 * PAGE_SIZE)]).toEqual([1, 0, 1, 0]);
      // the length is rounded up to whole pages
      expect([...ctx.mincore(base + 2 * PAGE_SIZE, 1)]).toEqual([1]);
    });
  });

  it('counts a page kept under PROT_NONE as resident', () => {
    inProcess((ctx) => {
      const base = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.store8(base, 1);
      ctx.mprotect(base, PAGE_SIZE, PROT_NONE);
      expect([...ctx.mincore(base, PAGE_SIZE)]).toEqual([1]);
    });
  });

  it('writes the vector to user memory in its raw form, EFAULT for a bad vector', () => {
    inProcess((ctx) => {
      const base = ctx.mmap(0, 3 * PAGE_SIZE, RW, ANON);
      ctx.store8(base + PAGE_SIZE, 9);
      const vec = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.fill(vec, 3, 0xff);
      expect(ctx.syscall('mincore', base, 3 * PAGE_SIZE, vec)).toBe(0);
      expect([...ctx.readBytes(vec, 3)]).toEqual([0, 1, 0]);
      expect(ctx.syscall('mincore', base, 3 * PAGE_SIZE, 0)).toBe(-14);
      expect(ctx.syscall('mincore', base + 3, PAGE_SIZE, vec)).toBe(-22);
    });
  });
});

describe('madvise', () => {
  it('MADV_DONTNEED: private pages read as zero afterwards and their frames are freed', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, 8 * PAGE_SIZE, RW, ANON);
      ctx.fill(base, 8 * PAGE_SIZE, 0x5a);
      const free = machine.frames.freeFrames;
      ctx.madvise(base + 2 * PAGE_SIZE, 3 * PAGE_SIZE, MADV_DONTNEED);
      expect(machine.frames.freeFrames).toBe(free + 3);
      expect([...ctx.mincore(base, 8 * PAGE_SIZE)]).toEqual([1, 1, 0, 0, 0, 1, 1, 1]);
      expect(ctx.load8(base + 2 * PAGE_SIZE)).toBe(0);
      expect(ctx.load32(base + 5 * PAGE_SIZE - 4)).toBe(0);
      expect(ctx.load8(base + 5 * PAGE_SIZE)).toBe(0x5a);
      expect(ctx.load8(base + PAGE_SIZE - 1)).toBe(0x5a);
      machine.check();
    });
  });

  it('MADV_DONTNEED on a page shared copy-on-write leaves the other process its copy', () => {
    inProcess((ctx) => {
      const base = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.store32(base, 0xcafe);
      const child = ctx.fork((c) => {
        c.madvise(base, PAGE_SIZE, MADV_DONTNEED);
        return c.load32(base) === 0 ? 0 : 1;
      });
      expect(ctx.wait(child).exitCode).toBe(0);
      expect(ctx.load32(base)).toBe(0xcafe);
    });
  });

  it('MADV_DONTNEED keeps the contents of a shared mapping, as shmem would', () => {
    inProcess((ctx) => {
      const base = ctx.mmap(0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
      ctx.store32(base, 77);
      ctx.madvise(base, PAGE_SIZE, MADV_DONTNEED);
      expect(ctx.load32(base)).toBe(77);
    });
  });

  it('checks its arguments like Linux and changes nothing when it fails', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, 3 * PAGE_SIZE, RW, ANON);
      ctx.fill(base, 3 * PAGE_SIZE, 1);
      ctx.munmap(base + 2 * PAGE_SIZE, PAGE_SIZE);
      const free = machine.frames.freeFrames;
      expect(errnoOf(() => ctx.madvise(base + 1, PAGE_SIZE, MADV_DONTNEED))).toBe('EINVAL');
      expect(errnoOf(() => ctx.madvise(base, PAGE_SIZE, 999))).toBe('EINVAL');
      expect(errnoOf(() => ctx.madvise(base, -1, MADV_DONTNEED))).toBe('EINVAL');
      // a hole at the end: ENOMEM, and the mapped pages before it are untouched
      expect(errnoOf(() => ctx.madvise(base, 3 * PAGE_SIZE, MADV_DONTNEED))).toBe('ENOMEM');
      expect(machine.frames.freeFrames).toBe(free);
      expect([...ctx.mincore(base, 2 * PAGE_SIZE)]).toEqual([1, 1]);
      expect(ctx.madvise(base, 0, MADV_DONTNEED)).toBe(0);
      expect(ctx.syscall('madvise', base, PAGE_SIZE, 999)).toBe(-22);
      expect(ctx.madvise(base, PAGE_SIZE, MADV_NORMAL)).toBe(0);
    });
  });

  it('refuses DONTNEED, FREE, COLD and PAGEOUT on locked memory (EINVAL)', () => {
    inProcess((ctx) => {
      const base = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON | MAP_LOCKED);
      for (const advice of [MADV_DONTNEED, MADV_FREE, MADV_COLD, MADV_PAGEOUT]) {
        expect(errnoOf(() => ctx.madvise(base, 2 * PAGE_SIZE, advice))).toBe('EINVAL');
      }
      expect([...ctx.mincore(base, 2 * PAGE_SIZE)]).toEqual([1, 1]);
      expect(ctx.madvise(base, 2 * PAGE_SIZE, MADV_WILLNEED)).toBe(0);
    });
  });

  it('refuses MADV_FREE on a shared mapping (EINVAL)', () => {
    inProcess((ctx) => {
      const base = ctx.mmap(0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
      expect(errnoOf(() => ctx.madvise(base, PAGE_SIZE, MADV_FREE))).toBe('EINVAL');
    });
  });

  it('MADV_FREE keeps a page that is written again, contents intact', () => {
    inProcess((ctx) => {
      const base = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
      ctx.fill(base, 2 * PAGE_SIZE, 3);
      ctx.madvise(base, 2 * PAGE_SIZE, MADV_FREE);
      ctx.store8(base, 4);
      expect(ctx.load8(base)).toBe(4);
      expect(ctx.load8(base + 1)).toBe(3);
      expect([...ctx.mincore(base, 2 * PAGE_SIZE)]).toEqual([1, 1]);
    });
  });
});

describe('MADV_POPULATE_READ / MADV_POPULATE_WRITE (madv_populate.c)', () => {
  const SIZE = 2 * 1024 * 1024;

  it('test_prot_read: READ works on PROT_READ, WRITE is EINVAL', () => {
    inProcess((ctx) => {
      const addr = ctx.mmap(0, SIZE, PROT_READ, ANON);
      expect(ctx.madvise(addr, SIZE, MADV_POPULATE_READ)).toBe(0);
      expect(errnoOf(() => ctx.madvise(addr, SIZE, MADV_POPULATE_WRITE))).toBe('EINVAL');
    });
  });

  it('test_prot_write: READ is EINVAL on PROT_WRITE, WRITE works', () => {
    inProcess((ctx) => {
      const addr = ctx.mmap(0, SIZE, PROT_WRITE, ANON);
      expect(errnoOf(() => ctx.madvise(addr, SIZE, MADV_POPULATE_READ))).toBe('EINVAL');
      expect(ctx.madvise(addr, SIZE, MADV_POPULATE_WRITE)).toBe(0);
      expect(ctx.mincore(addr, SIZE).every((b) => b === 1)).toBe(true);
    });
  });

  it('test_holes: ENOMEM with a hole in the middle, at the end and at the beginning', () => {
    inProcess((ctx) => {
      const addr = ctx.mmap(0, 3 * PAGE_SIZE, RW, ANON);
      ctx.munmap(addr + PAGE_SIZE, PAGE_SIZE);
      for (const advice of [MADV_POPULATE_READ, MADV_POPULATE_WRITE]) {
        expect(errnoOf(() => ctx.madvise(addr, 3 * PAGE_SIZE, advice))).toBe('ENOMEM');
        expect(errnoOf(() => ctx.madvise(addr, 2 * PAGE_SIZE, advice))).toBe('ENOMEM');
        expect(errnoOf(() => ctx.madvise(addr + PAGE_SIZE, PAGE_SIZE, advice))).toBe('ENOMEM');
      }
      expect([...ctx.mincore(addr, PAGE_SIZE)]).toEqual([0]);
    });
  });

  it('test_populate_read / test_populate_write: the range becomes resident', () => {
    inProcess((ctx) => {
      for (const advice of [MADV_POPULATE_READ, MADV_POPULATE_WRITE]) {
        const addr = ctx.mmap(0, SIZE, RW, ANON);
        expect(ctx.mincore(addr, SIZE).every((b) => b === 0)).toBe(true);
        expect(ctx.madvise(addr, SIZE, advice)).toBe(0);
        expect(ctx.mincore(addr, SIZE).every((b) => b === 1)).toBe(true);
        ctx.munmap(addr, SIZE);
      }
    });
  });

  it('POPULATE_WRITE breaks copy-on-write: the child writes without faulting', () => {
    inProcess((ctx, machine) => {
      const addr = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON);
      ctx.fill(addr, 4 * PAGE_SIZE, 6);
      const child = ctx.fork((c) => {
        const space = machine.process(c.pid)!.space;
        c.madvise(addr, 4 * PAGE_SIZE, MADV_POPULATE_WRITE);
        const faults = space.minorFaults;
        c.fill(addr, 4 * PAGE_SIZE, 7);
        return space.minorFaults === faults ? 0 : 1;
      });
      expect(ctx.wait(child).exitCode).toBe(0);
      expect(ctx.load8(addr + 3 * PAGE_SIZE)).toBe(6);
    });
  });

  it('refuses PROT_NONE (EINVAL)', () => {
    inProcess((ctx) => {
      const addr = ctx.mmap(0, PAGE_SIZE, PROT_NONE, ANON);
      expect(errnoOf(() => ctx.madvise(addr, PAGE_SIZE, MADV_POPULATE_READ))).toBe('EINVAL');
      expect(errnoOf(() => ctx.madvise(addr, PAGE_SIZE, MADV_POPULATE_WRITE))).toBe('EINVAL');
    });
  });
});

describe('mlock family (mlock2-tests.c)', () => {
  it('mlock faults the range in, accounts VmLck and Mlocked, and munlock undoes it', () => {
    inProcess((ctx, machine) => {
      const size = 5 * PAGE_SIZE;
      const base = ctx.mmap(0, size, RW, ANON);
      const mlocked = meminfoField(machine, 'Mlocked');
      ctx.mlock(base, size);
      expect(ctx.mincore(base, size).every((b) => b === 1)).toBe(true);
      expect(statusField(machine, ctx, 'VmLck')).toBe(size / 1024);
      expect(meminfoField(machine, 'Mlocked')).toBe(mlocked + size / 1024);
      expect(meminfoField(machine, 'Unevictable')).toBe(mlocked + size / 1024);
      ctx.munlock(base, size);
      expect(statusField(machine, ctx, 'VmLck')).toBe(0);
      expect(meminfoField(machine, 'Mlocked')).toBe(mlocked);
    });
  });

  it('test_mlock_lock: smaps shows the locked area Locked and its VmFlags lo', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, 3 * PAGE_SIZE, RW, ANON);
      ctx.mlock(base, 3 * PAGE_SIZE);
      const smaps = machine.procfs.read(`/proc/${ctx.pid}/smaps`);
      const start = base.toString(16).padStart(8, '0');
      const entry = smaps.slice(smaps.indexOf(`${start}-`));
      expect(entry).toMatch(/^Locked: +12 kB$/m);
      expect(/^VmFlags:.*$/m.exec(entry)![0]).toMatch(/ lo /);
      ctx.munlock(base, 3 * PAGE_SIZE);
      const after = machine.procfs.read(`/proc/${ctx.pid}/smaps`);
      const unlocked = after.slice(after.indexOf(`${start}-`));
      expect(unlocked).toMatch(/^Locked: +0 kB$/m);
    });
  });

  it('rounds an unaligned start down and the end up', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON);
      ctx.mlock(base + PAGE_SIZE + 100, PAGE_SIZE);
      expect([...ctx.mincore(base, 4 * PAGE_SIZE)]).toEqual([0, 1, 1, 0]);
      expect(statusField(machine, ctx, 'VmLck')).toBe((2 * PAGE_SIZE) / 1024);
    });
  });

  it('test_vma_management: locking a middle page splits the VMA, unlocking merges it', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, 3 * PAGE_SIZE, RW, ANON);
      const before = mapsLines(machine, ctx).length;
      ctx.mlock(base + PAGE_SIZE, PAGE_SIZE);
      expect(mapsLines(machine, ctx).length).toBe(before + 2);
      ctx.munlock(base + PAGE_SIZE, PAGE_SIZE);
      expect(mapsLines(machine, ctx).length).toBe(before);
      machine.check();
    });
  });

  it('test_lock_onfault: MLOCK_ONFAULT locks without faulting in; a touch makes it resident', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
      ctx.mlock2(base, 2 * PAGE_SIZE, MLOCK_ONFAULT);
      expect([...ctx.mincore(base, 2 * PAGE_SIZE)]).toEqual([0, 0]);
      expect(statusField(machine, ctx, 'VmLck')).toBe((2 * PAGE_SIZE) / 1024);
      ctx.store8(base, 1);
      expect([...ctx.mincore(base, 2 * PAGE_SIZE)]).toEqual([1, 0]);
      expect(errnoOf(() => ctx.mlock2(base, PAGE_SIZE, 2))).toBe('EINVAL');
    });
  });

  it('mlock and munlock of an unmapped range are ENOMEM, with nothing changed', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, 3 * PAGE_SIZE, RW, ANON);
      ctx.munmap(base + 2 * PAGE_SIZE, PAGE_SIZE);
      const maps = mapsLines(machine, ctx);
      expect(errnoOf(() => ctx.mlock(base, 3 * PAGE_SIZE))).toBe('ENOMEM');
      expect(errnoOf(() => ctx.munlock(base + PAGE_SIZE, 2 * PAGE_SIZE))).toBe('ENOMEM');
      expect(mapsLines(machine, ctx)).toEqual(maps);
      expect([...ctx.mincore(base, 2 * PAGE_SIZE)]).toEqual([0, 0]);
      expect(statusField(machine, ctx, 'VmLck')).toBe(0);
      expect(errnoOf(() => ctx.mlock(base, -PAGE_SIZE))).toBe('EINVAL');
      expect(ctx.mlock(base, 0)).toBe(0);
    });
  });

  it('mlock of more than memory holds is EAGAIN, the areas left unlocked', () => {
    inProcess((ctx, machine) => {
      const size = 128 * 1024 * 1024; // twice the machine's RAM, no swap
      const base = ctx.mmap(0, size, RW, ANON);
      const maps = mapsLines(machine, ctx);
      expect(errnoOf(() => ctx.mlock(base + PAGE_SIZE, size - 2 * PAGE_SIZE))).toBe('EAGAIN');
      expect(mapsLines(machine, ctx)).toEqual(maps);
      expect(statusField(machine, ctx, 'VmLck')).toBe(0);
      machine.check();
      ctx.munmap(base, size);
    });
  });

  it('MAP_LOCKED maps the pages resident and locked', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, 3 * PAGE_SIZE, RW, ANON | MAP_LOCKED);
      expect([...ctx.mincore(base, 3 * PAGE_SIZE)]).toEqual([1, 1, 1]);
      expect(statusField(machine, ctx, 'VmLck')).toBe((3 * PAGE_SIZE) / 1024);
    });
  });

  it('test_mlockall: MCL_CURRENT locks and faults in everything; munlockall undoes it', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON);
      ctx.mlockall(MCL_CURRENT);
      expect([...ctx.mincore(base, 4 * PAGE_SIZE)]).toEqual([1, 1, 1, 1]);
      const mapped = machine.process(ctx.pid)!.space.mappedBytes;
      expect(statusField(machine, ctx, 'VmLck')).toBe(mapped / 1024);
      // a mapping made after MCL_CURRENT alone is not locked
      const later = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      expect([...ctx.mincore(later, PAGE_SIZE)]).toEqual([0]);
      ctx.munlockall();
      expect(statusField(machine, ctx, 'VmLck')).toBe(0);
    });
  });

  it('mlockall(MCL_CURRENT) goes on faulting in the next areas after one it cannot (Linux __mm_populate)', () => {
    inProcess((ctx, machine) => {
      // Three areas apart (no merging), untouched, above the program's image, whose data area
      // (untouched too) is faulted in first and there meets the one page allocation that fails.
      const areas = [0, 1, 2].map(() => {
        const base = ctx.mmap(0, 6 * PAGE_SIZE, RW, ANON);
        ctx.munmap(base + 4 * PAGE_SIZE, 2 * PAGE_SIZE);
        return base;
      });
      const injector = FaultInjector.install(machine);
      injector.arm('page', 1);
      expect(ctx.mlockall(MCL_CURRENT)).toBe(0);
      injector.uninstall();
      expect(injector.injected).toBe(1);
      for (const base of areas) {
        expect([base, ...ctx.mincore(base, 4 * PAGE_SIZE)]).toEqual([base, 1, 1, 1, 1]);
      }
      ctx.munlockall();
    });
  });

  it('MCL_FUTURE locks later mappings and heap growth; MCL_ONFAULT leaves them unfaulted', () => {
    inProcess((ctx, machine) => {
      ctx.mlockall(MCL_FUTURE);
      const base = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
      expect([...ctx.mincore(base, 2 * PAGE_SIZE)]).toEqual([1, 1]);
      const brk = ctx.sbrk(2 * PAGE_SIZE);
      expect([...ctx.mincore(brk, 2 * PAGE_SIZE)]).toEqual([1, 1]);
      ctx.mlockall(MCL_FUTURE | MCL_ONFAULT);
      const lazy = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
      expect([...ctx.mincore(lazy, 2 * PAGE_SIZE)]).toEqual([0, 0]);
      expect(statusField(machine, ctx, 'VmLck')).toBe((6 * PAGE_SIZE) / 1024);
      ctx.munlockall();
      const plain = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      expect([...ctx.mincore(plain, PAGE_SIZE)]).toEqual([0]);
    });
  });

  it('mlockall rejects no flag, unknown flags and MCL_ONFAULT alone (EINVAL)', () => {
    inProcess((ctx) => {
      for (const flags of [0, 8, MCL_ONFAULT, -1]) {
        expect(errnoOf(() => ctx.mlockall(flags))).toBe('EINVAL');
      }
    });
  });

  it('locks are not inherited by a forked child', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
      ctx.mlock(base, 2 * PAGE_SIZE);
      const child = ctx.fork((c) => statusField(machine, c, 'VmLck'));
      expect(ctx.wait(child).exitCode).toBe(0);
      expect(statusField(machine, ctx, 'VmLck')).toBe((2 * PAGE_SIZE) / 1024);
    });
  });

  it('a locked shared page counts once in Mlocked however many lock it', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS);
      ctx.store8(base, 1);
      const before = meminfoField(machine, 'Mlocked');
      const child = ctx.fork(function* (c) {
        c.mlock(base, PAGE_SIZE);
        yield;
      });
      ctx.mlock(base, PAGE_SIZE);
      ctx.wait(child);
      expect(meminfoField(machine, 'Mlocked')).toBe(before + PAGE_SIZE / 1024);
    });
  });

  it('keeps MAP_FIXED replacing a locked area consistent', () => {
    inProcess((ctx, machine) => {
      const base = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON | MAP_LOCKED);
      ctx.mmap(base + PAGE_SIZE, PAGE_SIZE, RW, ANON | MAP_FIXED);
      expect(statusField(machine, ctx, 'VmLck')).toBe((3 * PAGE_SIZE) / 1024);
      expect([...ctx.mincore(base, 4 * PAGE_SIZE)]).toEqual([1, 0, 1, 1]);
      machine.check();
    });
  });
});

describe('with swap: madvise hands pages to reclaim, mincore and mlock see swap', () => {
  /** Runs `body` in a process of a machine with swap, then checks it back to its baseline. */
  function withSwap(body: (ctx: UserContext, machine: Machine) => void): void {
    inProcess(body, { memory: '32M', swap: '64M' });
  }

  function vmstat(machine: Machine, field: string): number {
    return vmstatField(machine.procfs.read('/proc/vmstat'), field);
  }

  it('MADV_PAGEOUT sends the pages to swap now; the next touch reads them back intact', () => {
    withSwap((ctx, machine) => {
      const base = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANON);
      for (let i = 0; i < 4; i++) ctx.store32(base + i * PAGE_SIZE, 0x1000 + i);
      const out = vmstat(machine, 'pswpout');
      ctx.madvise(base + PAGE_SIZE, 2 * PAGE_SIZE, MADV_PAGEOUT);
      expect(vmstat(machine, 'pswpout')).toBe(out + 2);
      expect([...ctx.mincore(base, 4 * PAGE_SIZE)]).toEqual([1, 0, 0, 1]);
      expect(statusField(machine, ctx, 'VmSwap')).toBe((2 * PAGE_SIZE) / 1024);
      machine.check();
      const major = vmstat(machine, 'pgmajfault');
      for (let i = 0; i < 4; i++) expect(ctx.load32(base + i * PAGE_SIZE)).toBe(0x1000 + i);
      expect(vmstat(machine, 'pgmajfault')).toBe(major + 2);
      expect(statusField(machine, ctx, 'VmSwap')).toBe(0);
    });
  });

  it('MADV_WILLNEED reads swapped-out pages back ahead of their touch', () => {
    withSwap((ctx, machine) => {
      const base = ctx.mmap(0, 3 * PAGE_SIZE, RW, ANON);
      ctx.fill(base, 3 * PAGE_SIZE, 0x42);
      ctx.madvise(base, 3 * PAGE_SIZE, MADV_PAGEOUT);
      expect([...ctx.mincore(base, 3 * PAGE_SIZE)]).toEqual([0, 0, 0]);
      ctx.madvise(base, 2 * PAGE_SIZE, MADV_WILLNEED);
      expect([...ctx.mincore(base, 3 * PAGE_SIZE)]).toEqual([1, 1, 0]);
      const major = vmstat(machine, 'pgmajfault');
      expect(ctx.load8(base + PAGE_SIZE)).toBe(0x42);
      expect(vmstat(machine, 'pgmajfault')).toBe(major);
    });
  });

  it('MADV_FREE: a clean page is dropped by reclaim without a write and reads as zero', () => {
    withSwap((ctx, machine) => {
      const base = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
      ctx.fill(base, 2 * PAGE_SIZE, 9);
      ctx.madvise(base, 2 * PAGE_SIZE, MADV_FREE);
      ctx.store8(base + PAGE_SIZE, 10); // written again: kept
      const out = vmstat(machine, 'pswpout');
      ctx.madvise(base, 2 * PAGE_SIZE, MADV_PAGEOUT);
      expect(vmstat(machine, 'pswpout')).toBe(out + 1);
      expect(ctx.load8(base)).toBe(0);
      expect(ctx.load8(base + PAGE_SIZE)).toBe(10);
      expect(ctx.load8(base + PAGE_SIZE + 1)).toBe(9);
    });
  });

  it('MADV_FREE of a swapped-out page frees its slot; it reads as zero', () => {
    withSwap((ctx, machine) => {
      const base = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.store8(base, 5);
      const swapFree = meminfoField(machine, 'SwapFree');
      ctx.madvise(base, PAGE_SIZE, MADV_PAGEOUT);
      expect(meminfoField(machine, 'SwapFree')).toBe(swapFree - 4);
      ctx.madvise(base, PAGE_SIZE, MADV_FREE);
      expect(meminfoField(machine, 'SwapFree')).toBe(swapFree);
      expect(ctx.load8(base)).toBe(0);
    });
  });

  it('a page table whose last page reclaim dropped stays until munmap of its range frees it', () => {
    withSwap((ctx, machine) => {
      const TABLE_SPAN = 2 * 1024 * 1024; // the addresses one page table maps
      const base = 0x4000_0000; // aligned to a page table's span, and free
      ctx.mmap(base, 2 * TABLE_SPAN, RW, ANON | MAP_FIXED);
      ctx.store8(base, 1);
      const page = base + TABLE_SPAN;
      const vmPte = statusField(machine, ctx, 'VmPTE');
      ctx.store8(page, 2); // the first entry of the upper table
      expect(statusField(machine, ctx, 'VmPTE')).toBe(vmPte + PAGE_SIZE / 1024);
      ctx.madvise(page, PAGE_SIZE, MADV_FREE);
      ctx.madvise(page, PAGE_SIZE, MADV_PAGEOUT); // dropped, not swapped
      expect([...ctx.mincore(page, PAGE_SIZE)]).toEqual([0]);
      // As Linux's try_to_unmap: reclaim frees no page table.
      expect(statusField(machine, ctx, 'VmPTE')).toBe(vmPte + PAGE_SIZE / 1024);
      ctx.munmap(base + PAGE_SIZE, PAGE_SIZE); // elsewhere: the empty table stays
      expect(statusField(machine, ctx, 'VmPTE')).toBe(vmPte + PAGE_SIZE / 1024);
      ctx.munmap(page + PAGE_SIZE, PAGE_SIZE); // in its range: freed (free_pgtables)
      expect(statusField(machine, ctx, 'VmPTE')).toBe(vmPte);
      machine.check();
      expect(ctx.load8(base)).toBe(1);
      expect(ctx.load8(page)).toBe(0);
    });
  });

  it('MADV_DONTNEED of a swapped-out page frees its slot', () => {
    withSwap((ctx, machine) => {
      const base = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.store8(base, 5);
      const swapFree = meminfoField(machine, 'SwapFree');
      ctx.madvise(base, PAGE_SIZE, MADV_PAGEOUT);
      ctx.madvise(base, PAGE_SIZE, MADV_DONTNEED);
      expect(meminfoField(machine, 'SwapFree')).toBe(swapFree);
      expect(ctx.load8(base)).toBe(0);
    });
  });

  it('MADV_COLD keeps the pages resident and intact; PAGEOUT leaves a page shared by fork', () => {
    withSwap((ctx) => {
      const base = ctx.mmap(0, 2 * PAGE_SIZE, RW, ANON);
      ctx.fill(base, 2 * PAGE_SIZE, 3);
      ctx.madvise(base, 2 * PAGE_SIZE, MADV_COLD);
      expect([...ctx.mincore(base, 2 * PAGE_SIZE)]).toEqual([1, 1]);
      const child = ctx.fork(function* () {
        yield;
      });
      ctx.madvise(base, 2 * PAGE_SIZE, MADV_PAGEOUT);
      expect([...ctx.mincore(base, 2 * PAGE_SIZE)]).toEqual([1, 1]);
      ctx.wait(child);
      expect(ctx.load8(base + PAGE_SIZE)).toBe(3);
    });
  });

  it('mlock takes resident pages off the lists at once; munlock puts them back', () => {
    withSwap((ctx, machine) => {
      const base = ctx.mmap(0, 8 * PAGE_SIZE, RW, ANON);
      ctx.fill(base, 8 * PAGE_SIZE, 1);
      const reclaim = machine.vm.reclaim!;
      const onLists = reclaim.policy.size;
      ctx.mlock(base, 8 * PAGE_SIZE);
      expect(reclaim.policy.size).toBe(onLists - 8);
      expect(reclaim.unevictable).toBe(8);
      machine.check();
      ctx.munlock(base, 8 * PAGE_SIZE);
      expect(reclaim.policy.size).toBe(onLists);
      expect(reclaim.unevictable).toBe(0);
    });
  });

  it('cow: a page swapped out before fork stays shared until written, each side intact', () => {
    withSwap((ctx) => {
      const base = ctx.mmap(0, PAGE_SIZE, RW, ANON);
      ctx.store32(base, 111);
      ctx.madvise(base, PAGE_SIZE, MADV_PAGEOUT);
      const child = ctx.fork((c) => {
        const before = c.load32(base);
        c.store32(base, 222);
        return before === 111 && c.load32(base) === 222 ? 0 : 1;
      });
      expect(ctx.wait(child).exitCode).toBe(0);
      expect(ctx.load32(base)).toBe(111);
    });
  });

  it('mlock brings swapped-out pages back; locked pages survive pressure; munlock releases them', () => {
    withSwap((ctx, machine) => {
      const locked = ctx.mmap(0, 64 * PAGE_SIZE, RW, ANON);
      ctx.fill(locked, 64 * PAGE_SIZE, 0x77);
      ctx.madvise(locked, 64 * PAGE_SIZE, MADV_PAGEOUT);
      ctx.mlock(locked, 64 * PAGE_SIZE);
      expect(ctx.mincore(locked, 64 * PAGE_SIZE).every((b) => b === 1)).toBe(true);
      const big = 40 * 1024 * 1024; // more than RAM: reclaim must swap the rest out
      const other = ctx.mmap(0, big, RW, ANON);
      for (let va = other; va < other + big; va += PAGE_SIZE) ctx.store8(va, 1);
      expect(vmstat(machine, 'pswpout')).toBeGreaterThan(64);
      expect(ctx.mincore(locked, 64 * PAGE_SIZE).every((b) => b === 1)).toBe(true);
      expect(ctx.load8(locked + 63 * PAGE_SIZE + 5)).toBe(0x77);
      machine.check();
      ctx.munlock(locked, 64 * PAGE_SIZE);
      ctx.madvise(locked, 64 * PAGE_SIZE, MADV_PAGEOUT);
      expect(ctx.mincore(locked, 64 * PAGE_SIZE).every((b) => b === 0)).toBe(true);
      ctx.munmap(other, big);
    });
  });
});
