/**
 * Bugs the reliability suite found, one test each, kept so they stay fixed.
 */
import { describe, expect, it } from 'vitest';
import { formatAddress } from '../../src/hw/address.js';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { FaultInjector } from '../../src/kernel/fault-injection.js';
import { Machine } from '../../src/kernel/machine.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE, SIGKILL } from '../../src/linux-abi.js';
import { FaultResult } from '../../src/virtual/stats.js';

const RW = PROT_READ | PROT_WRITE;
const ANONYMOUS = MAP_PRIVATE | MAP_ANONYMOUS;
/** vmalloc's page allocations on a fresh machine: its first frame, then a PD, then a PT. */
const VMALLOC_PT_ALLOCATION = 3;

/** More than the machine's limit on one instruction faulting again and again. */
const LEGITIMATE_FAULTS_IN_A_ROW = 8;

describe('regressions', () => {
  it('the same address faulting legitimately many times in a row is not a fault loop', () => {
    // Found by the stress run at seed 2 under memory pressure: every fork made the next store
    // to the same heap word a copy-on-write fault, and the machine counted faults at one
    // address across accesses (and processes) as one instruction looping: a false oops.
    const machine = Machine.boot({ memory: '16M' });
    const p = machine.spawn((ctx) => {
      const page = ctx.mmap(0, PAGE_SIZE, RW, ANONYMOUS);
      for (let i = 0; i < LEGITIMATE_FAULTS_IN_A_ROW; i++) {
        ctx.wait(ctx.fork(() => 0));
        ctx.store32(page, i);
      }
      return ctx.load32(page);
    });
    machine.run();
    expect(machine.oopses.map((o) => o.message)).toEqual([]);
    expect(p.exitCode).toBe(LEGITIMATE_FAULTS_IN_A_ROW - 1);
    machine.check();
    machine.dropCaches();
    expect(machine.frames.freeFrames).toBe(machine.bootFreeFrames);
  });

  it('a page-table walk that runs out of memory half-way leaves no table behind', () => {
    // Found by failing the 7th page allocation of spawn: vmalloc of the kernel stack got its
    // page directory, failed on the page table, and the empty directory stayed linked.
    const machine = Machine.boot({ memory: '16M' });
    const injector = FaultInjector.install(machine);
    injector.arm('page', VMALLOC_PT_ALLOCATION);
    expect(machine.vm.vmalloc(4 * PAGE_SIZE)).toBe(0);
    expect(injector.injected).toBe(1);
    expect(machine.frames.freeFrames).toBe(machine.bootFreeFrames);
    injector.uninstall();
    machine.check();
  });

  it('munmap of whole mappings needs no new VMA record, so it cannot fail for lack of memory', () => {
    // Found by failing slab allocations under malloc: munmap reserved two records even when
    // it split nothing, so freeing an mmapped block failed and the heap aborted.
    const machine = Machine.boot({ memory: '16M' });
    const injector = FaultInjector.install(machine);
    const p = machine.spawn((ctx) => {
      const area = ctx.mmap(0, 4 * PAGE_SIZE, RW, ANONYMOUS);
      injector.arm('slab', 1);
      const whole = ctx.syscall('munmap', area, 4 * PAGE_SIZE);
      return whole === 0 && injector.injected === 0 ? 0 : 1;
    });
    machine.run();
    injector.uninstall();
    expect(p.exitCode).toBe(0);
    machine.check();
  });

  it('write(2) of a made-up length is -EFAULT, not a host allocation failure', () => {
    // Found by the syscall fuzzer: copyFromUser allocated the whole length (here 128 TiB)
    // before reading a byte, and the host's RangeError became a kernel oops.
    const machine = Machine.boot({ memory: '16M' });
    const p = machine.spawn((ctx) => {
      const page = ctx.mmap(0, PAGE_SIZE, RW, ANONYMOUS);
      const fromNull = ctx.syscall('write', 1, 0, 2 ** 47);
      const fromPage = ctx.syscall('write', 1, page, 2 ** 46);
      return fromNull === -14 && fromPage === -14 ? 0 : 1;
    });
    machine.run();
    expect(machine.oopses.map((o) => o.message)).toEqual([]);
    expect(p.exitCode).toBe(0);
    machine.check();
  });

  it('a handler that "resolves" a fault without fixing it is still caught as a fault loop', () => {
    // The other side of the first fix: the detector must still fire on a real loop.
    const machine = Machine.boot({ memory: '16M' });
    let page = 0;
    const p = machine.spawn((ctx) => {
      page = ctx.mmap(0, PAGE_SIZE, RW, ANONYMOUS);
      const space = machine.process(ctx.pid)!.space;
      space.handleFault = () => FaultResult.HANDLED; // a broken kernel: nothing gets mapped
      ctx.load32(page);
    });
    machine.run();
    expect(machine.oopses.map((o) => o.message)).toEqual([
      `kernel oops: fault loop at ${formatAddress(page)}`,
    ]);
    expect(p.signal).toBe(SIGKILL);
  });
});
