import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/kernel/machine.js';
import {
  MAP_ANONYMOUS,
  MAP_PRIVATE,
  PROT_READ,
  PROT_WRITE,
  SIGABRT,
  SIGSEGV,
} from '../../src/linux-abi.js';
import { PAYLOAD, SEAL } from '../../src/user-alloc/chunk.js';
import { finish } from './helpers.js';

describe('the malloc heap inside a process', () => {
  it('lives in the process memory: brk grows, large blocks are mmapped', () => {
    const machine = Machine.boot({ memory: '64M' });
    const p = machine.spawn((ctx) => {
      const start = ctx.sbrk(0);
      const small = ctx.malloc(64);
      const big = ctx.malloc(1024 * 1024);
      ctx.store32(small, 1);
      ctx.store32(big + 1024 * 1024 - 4, 2);
      const grown = ctx.sbrk(0) > start;
      const mapped = big > ctx.sbrk(0) + 2 ** 30;
      const usable = ctx.usableSize(small) >= 64;
      ctx.free(big);
      ctx.free(small);
      return grown && mapped && usable ? 0 : 1;
    });
    finish(machine);
    expect(p.exitCode).toBe(0);
  });

  it('the heap’s mmap and munmap end as the system calls do: mm_struct written, VmPeak kept', () => {
    const machine = Machine.boot({ memory: '64M' });
    const kb = (status: string, field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1]);
    let status = '';
    machine.spawn((ctx) => {
      const big = ctx.malloc(8 * 1024 * 1024); // its own mapping
      machine.check(); // the mm_struct's map count included
      ctx.free(big); // unmapped
      machine.check();
      status = machine.procfs.read(`/proc/${ctx.getpid()}/status`);
    });
    finish(machine);
    expect(kb(status, 'VmPeak')).toBeGreaterThanOrEqual(kb(status, 'VmSize') + 8 * 1024);
  });

  it('a forked child inherits the heap: reads the parent’s blocks, frees and allocates its own', () => {
    const machine = Machine.boot({ memory: '64M' });
    const p = machine.spawn((ctx) => {
      const blocks = Array.from({ length: 50 }, (_, i) => {
        const b = ctx.malloc(16 + i * 8);
        ctx.store32(b, i);
        return b;
      });
      const pid = ctx.fork((child) => {
        for (let i = 0; i < 50; i++) if (child.load32(blocks[i]!) !== i) child.exit(1);
        for (let i = 0; i < 50; i += 2) child.free(blocks[i]!);
        for (let i = 0; i < 50; i++) child.store32(child.malloc(24), 0xdead);
        child.exit(0);
      });
      const status = ctx.wait(pid);
      for (let i = 0; i < 50; i++) if (ctx.load32(blocks[i]!) !== i) return 2;
      for (const b of blocks) ctx.free(b);
      return status.exitCode;
    });
    finish(machine);
    expect(p.exitCode).toBe(0);
  });

  it('realloc moves contents through the MMU, into pages never touched before', () => {
    const machine = Machine.boot({ memory: '64M' });
    const p = machine.spawn((ctx) => {
      let block = ctx.malloc(3000);
      for (let i = 0; i < 3000; i += 4) ctx.store32(block + i, i * 2654435761);
      for (const size of [200_000, 6000, 300, 500_000]) {
        block = ctx.realloc(block, size);
        for (let i = 0; i < 300; i += 4) {
          if (ctx.load32(block + i) !== (i * 2654435761) % 2 ** 32) return 1;
        }
      }
      ctx.free(block);
      return 0;
    });
    finish(machine);
    expect(p.exitCode).toBe(0);
  });

  it('an overlapping copy that faults part-way still moves memory like memmove', () => {
    const machine = Machine.boot({ memory: '64M' });
    const page = 4096;
    const p = machine.spawn((ctx) => {
      const base = ctx.mmap(0, 3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      const model = Uint8Array.from({ length: 2 * page }, (_, i) => (i * 7 + 3) & 0xff);
      ctx.writeBytes(base, model); // pages 0 and 1 present, page 2 never touched
      const from = 100;
      const to = page + 2000;
      ctx.memory.copyWithin(base + to, base + from, 6000); // the write faults on page 2
      const expected = new Uint8Array(3 * page);
      expected.set(model);
      expected.copyWithin(to, from, from + 6000);
      const got = ctx.readBytes(base, 3 * page);
      return got.every((byte, i) => byte === expected[i]) ? 0 : 1;
    });
    finish(machine);
    expect(p.exitCode).toBe(0);
  });

  it('a copy into memory that is not mapped kills the process with SIGSEGV', () => {
    const machine = Machine.boot({ memory: '64M' });
    const p = machine.spawn((ctx) => {
      const block = ctx.malloc(64);
      ctx.memory.copyWithin(0x10_0000, block, 64);
      return 0;
    });
    finish(machine);
    expect(p.signal).toBe(SIGSEGV);
  });

  it('heap corruption aborts only that process with SIGABRT and a message', () => {
    const machine = Machine.boot({ memory: '64M' });
    const victim = machine.spawn((ctx) => {
      const a = ctx.malloc(32);
      ctx.free(a);
      ctx.free(a);
      return 0;
    });
    const bystander = machine.spawn((ctx) => {
      const a = ctx.malloc(32);
      ctx.free(a);
      return 0;
    });
    finish(machine);
    expect(victim.signal).toBe(SIGABRT);
    expect(victim.stderr).toMatch(/double free/);
    expect(bystander.exitCode).toBe(0);
  });

  it('malloc returns NULL with ENOMEM for impossible sizes', () => {
    const machine = Machine.boot({ memory: '64M' });
    let errno = 0;
    const p = machine.spawn((ctx) => {
      const r = ctx.malloc(2 ** 52);
      errno = ctx.errno;
      return r === 0 && ctx.calloc(2 ** 30, 2 ** 30) === 0 ? 0 : 1;
    });
    finish(machine);
    expect(p.exitCode).toBe(0);
    expect(errno).toBe(12);
  });

  it('seals chunk headers with a secret drawn from the machine seed: a run is reproducible', () => {
    /** The seal word of a process's first block on a machine booted with `seed`. */
    const firstSeal = (seed: number): number => {
      const machine = Machine.boot({ memory: '64M', seed });
      let seal = 0;
      machine.spawn((ctx) => {
        const p = ctx.malloc(32);
        seal = ctx.load32(p - PAYLOAD + SEAL);
        ctx.free(p);
      });
      finish(machine);
      return seal;
    };
    expect(firstSeal(7)).toBe(firstSeal(7));
    expect(firstSeal(7)).not.toBe(firstSeal(8));
  });
});

describe('realloc of an mmapped block moves it with mremap (glibc mremap_chunk)', () => {
  it('grows a touched block from 256 KiB to 16 MiB: no fault, no copy at any step', () => {
    const machine = Machine.boot({ memory: '64M' });
    const handle = machine.spawn((ctx) => {
      const events = machine.vm.events;
      let size = 256 * 1024;
      let p = ctx.malloc(size);
      ctx.fill(p, size, 0x5a);
      while (size < 16 * 1024 * 1024) {
        const wall = ctx.malloc(64 * 1024); // its own mapping, often right where p would grow
        const faults = events.pgfault;
        const frame = machine.process(ctx.pid)!.space.frameAt(p + size - 1);
        const q = ctx.realloc(p, 2 * size);
        expect(events.pgfault).toBe(faults);
        expect(machine.process(ctx.pid)!.space.frameAt(q + size - 1)).toBe(frame);
        ctx.fill(q + size, size, 0x5a);
        ctx.free(wall);
        p = q;
        size *= 2;
      }
      const bytes = ctx.readBytes(p, size);
      expect(bytes.every((b) => b === 0x5a)).toBe(true);
      ctx.free(p);
    });
    finish(machine);
    expect(handle.error).toBeNull();
    expect(handle.exitCode).toBe(0);
  });

  it('shrinks a mapped block in place, giving its tail pages back', () => {
    const machine = Machine.boot({ memory: '64M' });
    const handle = machine.spawn((ctx) => {
      const p = ctx.malloc(4 * 1024 * 1024);
      ctx.fill(p, 4 * 1024 * 1024, 1);
      const free = machine.frames.freeFrames;
      expect(ctx.realloc(p, 1024 * 1024)).toBe(p);
      expect(machine.frames.freeFrames - free).toBeGreaterThanOrEqual(767);
      expect(ctx.load8(p + 1024 * 1024 - 1)).toBe(1);
      ctx.free(p);
    });
    finish(machine);
    expect(handle.error).toBeNull();
  });
});
