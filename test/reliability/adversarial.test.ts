/**
 * The adversarial suite: a hostile or buggy program, or a kernel bug caught by the debug
 * checks, one attack per test, each with its exact expected outcome. After every user-level
 * attack the machine must have no oops, pass `check()` and be back at its boot memory.
 */
import { describe, expect, it } from 'vitest';
import type { WallosError } from '../../src/errors.js';
import { USER_TOP } from '../../src/hw/address.js';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import type { FaultReport, Program } from '../../src/kernel/process.js';
import type { UserContext } from '../../src/kernel/user-context.js';
import {
  ERRNO,
  MAP_ANONYMOUS,
  MAP_FIXED,
  MAP_PRIVATE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  SIGABRT,
  SIGSEGV,
} from '../../src/linux-abi.js';
import { FrameUse } from '../../src/physical/index.js';
import {
  DIRECT_MAP_BASE,
  INITIAL_STACK_SIZE,
  KERNEL_IMAGE_VA,
  STACK_GUARD_GAP,
  STACK_LIMIT,
  STACK_TOP,
  VMALLOC_BASE,
} from '../../src/virtual/layout.js';

const RW = PROT_READ | PROT_WRITE;
const ANONYMOUS = MAP_PRIVATE | MAP_ANONYMOUS;
/** Offset from a malloc'd pointer to its chunk's size word (src/user-alloc/chunk.ts). */
const HEAD_FROM_PAYLOAD = -8;
/** A request size above what any heap can serve. */
const HUGE = 2 ** 52;
/** The pattern freed kernel memory is painted with: it must never reach a user. */
const CANARY = 0xa5;
const SECRET = 0x5ec12e7;
/** Blocks bigger than the allocator's per-size caches, so they go to the free lists. */
const LARGE = 2000; // above the sizes the per-size caches keep (chunks under 1 KiB)

/**
 * Runs `program` alone on a fresh machine and checks the machine afterwards. The layout is the
 * fixed one (no ASLR), so attacks can aim at known addresses (the stack's, the image's).
 */
function attack(program: Program, memory = '16M') {
  const machine = Machine.boot({ memory, aslr: 0 });
  const handle = machine.spawn(program, { name: 'attacker' });
  machine.run();
  settle(machine);
  return handle;
}

/** No oops, consistent layers, and memory back at its boot value. */
function settle(machine: Machine): void {
  expect(machine.oopses.map((o) => o.message)).toEqual([]);
  machine.check();
  machine.dropCaches();
  expect(machine.frames.freeFrames).toBe(machine.bootFreeFrames);
}

function expectSegv(
  handle: ReturnType<typeof attack>,
  address: number,
  kind: FaultReport['kind'],
  access: FaultReport['access'],
): void {
  expect([handle.exitCode, handle.signal]).toEqual([null, SIGSEGV]);
  expect(handle.fault).toMatchObject({ address, kind, access });
}

function expectAbort(handle: ReturnType<typeof attack>, message: string): void {
  expect([handle.exitCode, handle.signal, handle.error]).toEqual([null, SIGABRT, message]);
}

function codeOf(action: () => unknown): string {
  try {
    action();
  } catch (error) {
    return (error as WallosError).code ?? String(error);
  }
  return 'no error';
}

function page(ctx: UserContext, prot = RW): number {
  return ctx.mmap(0, PAGE_SIZE, prot, ANONYMOUS);
}

describe('user access to kernel memory', () => {
  const kernel = [
    ['the direct map', DIRECT_MAP_BASE + 0x200000],
    ['the kernel image', KERNEL_IMAGE_VA],
    ['the vmalloc area', VMALLOC_BASE],
  ] as const;

  it.each(kernel)('reading %s: SIGSEGV, SEGV_MAPERR', (_, address) => {
    expectSegv(
      attack((ctx) => ctx.load8(address)),
      address,
      'SEGV_MAPERR',
      'read',
    );
  });

  it.each(kernel)('writing %s: SIGSEGV, SEGV_MAPERR', (_, address) => {
    expectSegv(
      attack((ctx) => ctx.store32(address, 0)),
      address,
      'SEGV_MAPERR',
      'write',
    );
  });

  it.each(kernel)('jumping into %s: SIGSEGV, SEGV_MAPERR', (_, address) => {
    expectSegv(
      attack((ctx) => ctx.jump(address)),
      address,
      'SEGV_MAPERR',
      'execute',
    );
  });

  it('reading its own kernel stack (vmalloc) and task_struct (direct map): SIGSEGV', () => {
    const machine = Machine.boot({ memory: '16M' });
    const handle = machine.spawn((ctx) => {
      const self = machine.process(ctx.pid)!;
      ctx.load32(ctx.pid % 2 === 0 ? self.descriptor : self.kernelStack);
    });
    machine.run();
    settle(machine);
    expect(handle.signal).toBe(SIGSEGV);
    expect(handle.fault?.kind).toBe('SEGV_MAPERR');
  });

  it('a non-canonical address: SIGSEGV (general protection)', () => {
    expectSegv(
      attack((ctx) => ctx.load32(USER_TOP + 0x1000)),
      USER_TOP + 0x1000,
      'SEGV_MAPERR',
      'read',
    );
  });
});

describe('bulk accesses of its memory with a length that counts no bytes', () => {
  const lengths = [Number.NaN, -1, 1.5, Number.POSITIVE_INFINITY, 2 ** 53];
  const bulk = [
    ['fill', (ctx: UserContext, p: number, n: number) => ctx.memory.fill(p, n, 0)],
    ['copyWithin', (ctx: UserContext, p: number, n: number) => ctx.memory.copyWithin(p, p + 64, n)],
    ['readBytes', (ctx: UserContext, p: number, n: number) => ctx.memory.readBytes(p, n)],
  ] as const;

  it.each(bulk)('%s: a typed error in the program, no oops', (_, access) => {
    for (const length of lengths) {
      const handle = attack((ctx) => access(ctx, page(ctx), length));
      expect([handle.exitCode, handle.error]).toEqual([
        1,
        `InvalidArgumentError: length ${length} is not a non-negative integer`,
      ]);
    }
  });
});

describe("another process's memory", () => {
  it('its addresses are not mapped here: SIGSEGV; mapped here, they are our own zeroed page', () => {
    const machine = Machine.boot({ memory: '16M' });
    let victimPage = 0;
    const victim = machine.spawn(function* (ctx) {
      victimPage = page(ctx);
      ctx.store32(victimPage, SECRET);
      yield;
      yield;
      return ctx.load32(victimPage) === SECRET ? 0 : 1;
    });
    const reader = machine.spawn(function* (ctx) {
      yield;
      ctx.load32(victimPage);
    });
    const mapper = machine.spawn(function* (ctx) {
      yield;
      const mine = ctx.mmap(victimPage, PAGE_SIZE, RW, ANONYMOUS | MAP_FIXED);
      const seen = ctx.load32(mine);
      ctx.store32(mine, 1);
      return mine === victimPage && seen === 0 ? 0 : 1;
    });
    machine.run();
    settle(machine);
    expectSegv(reader, victimPage, 'SEGV_MAPERR', 'read');
    expect(mapper.exitCode).toBe(0);
    expect(victim.exitCode).toBe(0);
  });

  it('a forked child writing a shared page changes only its own copy', () => {
    const handle = attack((ctx) => {
      const shared = page(ctx);
      ctx.store32(shared, SECRET);
      const status = ctx.wait(ctx.fork((child) => child.store32(shared, 0)));
      return status.exitCode === 0 && ctx.load32(shared) === SECRET ? 0 : 1;
    });
    expect(handle.exitCode).toBe(0);
  });
});

describe('protections', () => {
  it('writing a read-only page: SIGSEGV, SEGV_ACCERR', () => {
    let address = 0;
    const handle = attack((ctx) => {
      address = page(ctx, PROT_READ);
      ctx.store8(address, 1);
    });
    expectSegv(handle, address, 'SEGV_ACCERR', 'write');
  });

  it('writing a page made read-only by mprotect after it was written', () => {
    let address = 0;
    const handle = attack((ctx) => {
      address = page(ctx);
      ctx.store32(address, 1);
      ctx.mprotect(address, PAGE_SIZE, PROT_READ);
      ctx.store32(address + 8, 1);
    });
    expectSegv(handle, address + 8, 'SEGV_ACCERR', 'write');
  });

  it('writing the program text: SIGSEGV, SEGV_ACCERR', () => {
    expectSegv(
      attack((ctx) => ctx.store32(0x400000, 0)),
      0x400000,
      'SEGV_ACCERR',
      'write',
    );
  });

  it('jumping into an NX data page: SIGSEGV, SEGV_ACCERR', () => {
    let address = 0;
    const handle = attack((ctx) => {
      address = page(ctx);
      ctx.store8(address, 0xc3);
      ctx.jump(address);
    });
    expectSegv(handle, address, 'SEGV_ACCERR', 'execute');
  });

  it('jumping onto the stack: SIGSEGV, SEGV_ACCERR', () => {
    const address = STACK_TOP - PAGE_SIZE;
    expectSegv(
      attack((ctx) => ctx.jump(address)),
      address,
      'SEGV_ACCERR',
      'execute',
    );
  });

  it('a PROT_EXEC page can be jumped into; PROT_NONE cannot be read', () => {
    let none = 0;
    const handle = attack((ctx) => {
      ctx.jump(page(ctx, PROT_READ | PROT_EXEC));
      none = page(ctx, 0);
      ctx.load8(none);
    });
    expectSegv(handle, none, 'SEGV_ACCERR', 'read');
  });
});

describe('the null page and guard pages', () => {
  it('reading NULL: SIGSEGV, SEGV_MAPERR', () => {
    expectSegv(
      attack((ctx) => ctx.load32(0)),
      0,
      'SEGV_MAPERR',
      'read',
    );
  });

  it('mapping page 0 with MAP_FIXED: EPERM (mmap_min_addr)', () => {
    const handle = attack((ctx) => -ctx.syscall('mmap', 0, PAGE_SIZE, RW, ANONYMOUS | MAP_FIXED));
    expect(handle.exitCode).toBe(ERRNO.EPERM);
  });

  it('below the stack limit: SIGSEGV, SEGV_MAPERR (and within it, the stack grows)', () => {
    const beyond = STACK_TOP - STACK_LIMIT - PAGE_SIZE;
    const within = STACK_TOP - STACK_LIMIT + PAGE_SIZE;
    const handle = attack((ctx) => {
      ctx.store32(within, 1);
      ctx.load32(beyond);
    });
    expectSegv(handle, beyond, 'SEGV_MAPERR', 'read');
  });

  it('in the guard gap above a mapping: the stack does not grow into it', () => {
    const stackBottom = STACK_TOP - INITIAL_STACK_SIZE;
    const below = stackBottom - STACK_GUARD_GAP - 16 * PAGE_SIZE;
    const inGap = below + PAGE_SIZE + STACK_GUARD_GAP / 2;
    const handle = attack((ctx) => {
      ctx.mmap(below, PAGE_SIZE, RW, ANONYMOUS | MAP_FIXED);
      ctx.store32(inGap, 1);
    });
    expectSegv(handle, inGap, 'SEGV_MAPERR', 'write');
  });
});

describe('system calls with bad pointers', () => {
  /** Runs `call` in a process with a one-page mapping and returns what it returned. */
  function syscallResult(call: (ctx: UserContext, mapped: number) => number): {
    result: number;
    stdout: string;
  } {
    let result = 0;
    const handle = attack((ctx) => {
      const mapped = page(ctx);
      ctx.writeBytes(mapped + PAGE_SIZE - 4, new TextEncoder().encode('abcd'));
      result = call(ctx, mapped);
      return 0;
    });
    expect(handle.exitCode).toBe(0);
    return { result, stdout: handle.stdout };
  }

  it.each([
    ['NULL', () => 0],
    ['a kernel address', () => DIRECT_MAP_BASE],
    ['a wrapping range', () => USER_TOP - 4],
    ['a partly unmapped range', (mapped: number) => mapped + PAGE_SIZE - 4],
  ])('write(1, %s, 16): -EFAULT, nothing written', (_, pointer) => {
    const outcome = syscallResult((ctx, mapped) => ctx.syscall('write', 1, pointer(mapped), 16));
    expect(outcome).toEqual({ result: -ERRNO.EFAULT, stdout: '' });
  });

  it('write of 1 TiB from a valid pointer (the range is user space): -EFAULT', () => {
    const outcome = syscallResult((ctx, mapped) => ctx.syscall('write', 1, mapped, 2 ** 40));
    expect(outcome).toEqual({ result: -ERRNO.EFAULT, stdout: '' });
  });

  it('write of a huge length from a valid pointer: -EFAULT', () => {
    const outcome = syscallResult((ctx, mapped) => ctx.syscall('write', 1, mapped, 2 ** 53));
    expect(outcome.result).toBe(-ERRNO.EFAULT);
  });

  it('read(0) into a kernel address: -EFAULT, the input is not consumed', () => {
    const machine = Machine.boot({ memory: '16M' });
    const handle = machine.spawn(
      (ctx) => {
        const bad = ctx.syscall('read', 0, VMALLOC_BASE, 4);
        const buffer = page(ctx);
        const good = ctx.syscall('read', 0, buffer, 4);
        return bad === -ERRNO.EFAULT && good === 4 && ctx.load8(buffer) === 0x78 ? 0 : 1;
      },
      { stdin: 'xyzw' },
    );
    machine.run();
    settle(machine);
    expect(handle.exitCode).toBe(0);
  });

  it('wait4 storing its status at a kernel address: -EFAULT', () => {
    const handle = attack((ctx) => {
      const pid = ctx.fork(() => 3);
      return -ctx.syscall('wait4', pid, KERNEL_IMAGE_VA);
    });
    expect(handle.exitCode).toBe(ERRNO.EFAULT);
  });

  it('munmap and mprotect of kernel addresses: -EINVAL / -ENOMEM, nothing changes', () => {
    const handle = attack((ctx) => {
      const unmap = ctx.syscall('munmap', KERNEL_IMAGE_VA, PAGE_SIZE);
      const protect = ctx.syscall('mprotect', DIRECT_MAP_BASE, PAGE_SIZE, RW);
      const fixed = ctx.syscall('mmap', DIRECT_MAP_BASE, PAGE_SIZE, RW, ANONYMOUS | MAP_FIXED);
      return unmap === -ERRNO.EINVAL && protect === -ERRNO.EINVAL && fixed === -ERRNO.EINVAL
        ? 0
        : 1;
    });
    expect(handle.exitCode).toBe(0);
  });
});

describe('the malloc heap under abuse', () => {
  it('double free: SIGABRT "free(): double free detected"', () => {
    const handle = attack((ctx) => {
      const block = ctx.malloc(LARGE);
      ctx.malloc(16);
      ctx.free(block);
      ctx.free(block);
    });
    expectAbort(handle, 'free(): double free detected');
  });

  it('free of a pointer malloc never returned (an mmapped page): SIGABRT', () => {
    const handle = attack((ctx) => {
      ctx.malloc(16);
      ctx.free(page(ctx) + 16);
    });
    expect(handle.signal).toBe(SIGABRT);
    expect(handle.error).toMatch(/^(free|munmap_chunk)\(\): invalid pointer$/);
  });

  it('free of an unaligned pointer: SIGABRT "free(): invalid pointer"', () => {
    const handle = attack((ctx) => ctx.free(ctx.malloc(LARGE) + 1));
    expectAbort(handle, 'free(): invalid pointer');
  });

  it('a scribbled chunk header (written through store32): SIGABRT at its free', () => {
    const handle = attack((ctx) => {
      const block = ctx.malloc(LARGE);
      ctx.malloc(16);
      ctx.store32(block + HEAD_FROM_PAYLOAD, 0x41414141);
      ctx.free(block);
    });
    expectAbort(handle, 'free(): invalid pointer');
  });

  it('a heap overflow into the next header: SIGABRT "free(): invalid next size"', () => {
    const handle = attack((ctx) => {
      const block = ctx.malloc(LARGE);
      ctx.malloc(16);
      ctx.fill(block, ctx.usableSize(block) + 8, 0x41);
      ctx.free(block);
    });
    expectAbort(handle, 'free(): invalid next size');
  });

  it('use after free corrupting a free-list link: SIGABRT before the block is reused', () => {
    const handle = attack((ctx) => {
      const a = ctx.malloc(LARGE);
      ctx.malloc(16);
      const b = ctx.malloc(LARGE);
      ctx.malloc(16);
      ctx.free(a);
      ctx.free(b);
      ctx.store32(b, ctx.load32(b) + 1024);
      ctx.malloc(LARGE);
    });
    expectAbort(handle, 'corrupted double-linked list');
  });

  it.each([
    ['malloc(2^52)', (ctx: UserContext) => ctx.malloc(HUGE)],
    [
      'calloc(2^32, 2^32) (the product overflows)',
      (ctx: UserContext) => ctx.calloc(2 ** 32, 2 ** 32),
    ],
    ['realloc(p, 2^52)', (ctx: UserContext) => ctx.realloc(ctx.malloc(16), HUGE)],
    ['memalign(16, 2^52)', (ctx: UserContext) => ctx.memalign(16, HUGE)],
  ])('%s: NULL with errno ENOMEM, the process lives on', (_, call) => {
    const handle = attack((ctx) => (call(ctx) === 0 ? ctx.errno : -1));
    expect(handle.exitCode).toBe(ERRNO.ENOMEM);
  });
});

describe('the slab allocator (debug mode)', () => {
  function debugMachine() {
    const machine = Machine.boot({ memory: '16M', debug: true });
    return { machine, slab: machine.slab, cache: machine.slab.createCache('adversary', 96) };
  }

  it('double free: DOUBLE_FREE, nothing changes', () => {
    const { machine, slab, cache } = debugMachine();
    const object = cache.alloc();
    cache.free(object);
    const active = cache.activeObjects;
    expect(codeOf(() => cache.free(object))).toBe('DOUBLE_FREE');
    expect(cache.activeObjects).toBe(active);
    expect(slab.validate()).toBe(0);
    machine.check();
  });

  it('freeing into the wrong cache: CROSS_CACHE_FREE', () => {
    const { machine, slab, cache } = debugMachine();
    const object = slab.kmalloc(96);
    expect(codeOf(() => cache.free(object))).toBe('CROSS_CACHE_FREE');
    slab.kfree(object);
    machine.check();
  });

  it('writing past an object (red zone): REDZONE at kfree, the object stays allocated', () => {
    const { machine, slab } = debugMachine();
    const object = slab.kmalloc(64);
    machine.mmu.store8(object + 64, 0x41);
    expect(codeOf(() => slab.kfree(object))).toBe('REDZONE');
    expect(slab.validate()).toBeGreaterThan(0);
  });

  it('writing a freed object (poison): POISON, and the object is never handed out again', () => {
    const { machine, slab } = debugMachine();
    const object = slab.kmalloc(64);
    slab.kfree(object);
    machine.mmu.store32(object + 8, 0);
    const errors: string[] = [];
    slab.validate((error) => errors.push(error.code));
    expect(errors).toEqual(['POISON']);
    expect(codeOf(() => slab.kmalloc(64))).toBe('POISON');
  });

  it('kfree of a pointer inside an object or outside any slab: INVALID_POINTER', () => {
    const { machine, slab } = debugMachine();
    const object = slab.kmalloc(64);
    expect(codeOf(() => slab.kfree(object + 8))).toBe('INVALID_POINTER');
    expect(codeOf(() => slab.kfree(KERNEL_IMAGE_VA))).toBe('INVALID_POINTER');
    slab.kfree(object);
    expect(slab.validate()).toBe(0);
    machine.check();
  });
});

describe('the buddy allocator', () => {
  it('double free: DOUBLE_FREE, nothing changes', () => {
    const machine = Machine.boot({ memory: '16M' });
    const frames = machine.frames;
    const block = frames.allocPages(2, FrameUse.KERNEL);
    frames.freePages(block, 2);
    expect(codeOf(() => frames.freePages(block, 2))).toBe('DOUBLE_FREE');
    expect(frames.freeFrames).toBe(machine.bootFreeFrames);
    machine.check();
  });

  it('free with the wrong order: WRONG_ORDER, nothing changes', () => {
    const machine = Machine.boot({ memory: '16M' });
    const frames = machine.frames;
    const block = frames.allocPages(2, FrameUse.KERNEL);
    expect(codeOf(() => frames.freePages(block, 3))).toBe('WRONG_ORDER');
    expect(codeOf(() => frames.freePages(block, 1))).toBe('WRONG_ORDER');
    frames.freePages(block, 2);
    expect(frames.freeFrames).toBe(machine.bootFreeFrames);
    machine.check();
  });

  it('free of a frame in the middle of a block: INVALID_FREE', () => {
    const machine = Machine.boot({ memory: '16M' });
    const frames = machine.frames;
    const block = frames.allocPages(2, FrameUse.KERNEL);
    expect(codeOf(() => frames.freePages(block + PAGE_SIZE, 0))).toBe('INVALID_FREE');
    frames.freePages(block, 2);
    machine.check();
  });
});

describe('no kernel data reaches a user', () => {
  it('freed frames and slab objects painted with a canary: every fresh user page reads zero', () => {
    const machine = Machine.boot({ memory: '16M' });
    // Churn kernel objects (task_struct, mm_struct, VMAs, page tables, kernel stacks)…
    for (let i = 0; i < 8; i++) {
      machine.spawn((ctx) => {
        const area = ctx.mmap(0, 8 * PAGE_SIZE, RW, ANONYMOUS);
        ctx.fill(area, 8 * PAGE_SIZE, 0x77);
        ctx.wait(ctx.fork(() => 0));
      });
    }
    machine.run();
    machine.dropCaches();
    // …then paint every free frame, as if freed kernel memory kept its contents.
    machine.frames.forEachFreeBlock((pa, order) => {
      machine.ram.fill(pa, PAGE_SIZE << order, CANARY);
    });
    const pages = 256;
    const allZero = (ctx: UserContext, start: number, length: number) =>
      ctx.readBytes(start, length).every((byte) => byte === 0);
    const mapped = machine.spawn((ctx) => {
      const area = ctx.mmap(0, pages * PAGE_SIZE, RW, ANONYMOUS);
      const stack = machine.process(ctx.pid)!.space.layout.stackTop - 64 * PAGE_SIZE;
      return allZero(ctx, area, pages * PAGE_SIZE) && allZero(ctx, stack, 64 * PAGE_SIZE) ? 0 : 1;
    });
    const heap = machine.spawn((ctx) => {
      const block = ctx.malloc(64 * 1024);
      return allZero(ctx, block, 64 * 1024) ? 0 : 1;
    });
    const brk = machine.spawn((ctx) => {
      const start = ctx.sbrk(16 * PAGE_SIZE);
      return allZero(ctx, start, 16 * PAGE_SIZE) ? 0 : 1;
    });
    machine.run();
    expect([mapped.exitCode, heap.exitCode, brk.exitCode]).toEqual([0, 0, 0]);
    expect(machine.oopses).toEqual([]);
    machine.check();
  });
});
