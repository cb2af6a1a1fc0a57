/**
 * A process's memory as its own code sees it: every access goes through the MMU at CPL 3, and
 * a page fault enters the kernel's handler, which either resolves it (the access is retried,
 * as the CPU re-executes the faulting instruction) or kills the process.
 *
 * Each access counts its own faults: a handler that keeps "resolving" a fault the MMU keeps
 * raising is a fault loop, which the machine reports as an oops.
 *
 * Each method spells out the same retry loop on purpose: this is the hot path of every user
 * load and store (the heap allocator's included), and a shared helper would need a closure per
 * access. The 8- and 32-bit accesses are served on a TLB hit by {@link UserModeMemory} (the
 * hardware's part, a few typed-array reads that V8 inlines into the caller); only a miss comes
 * here, to the try/catch loop.
 */
import { PAGE_SIZE } from '../hw/constants.js';
import type { MemoryAccess } from '../hw/memory-access.js';
import { UserModeMemory } from '../hw/mmu.js';
import type { Machine } from './machine.js';
import type { Process } from './process.js';

export class UserMemory extends UserModeMemory implements MemoryAccess {
  constructor(
    private readonly machine: Machine,
    private readonly process: Process,
  ) {
    super(machine.mmu);
  }

  protected load8Miss(va: number): number {
    for (let faults = 1; ; faults++) {
      try {
        return this.mmu.load8(va);
      } catch (error) {
        this.machine.userFault(this.process, error, faults);
      }
    }
  }

  load16(va: number): number {
    for (let faults = 1; ; faults++) {
      try {
        return this.mmu.load16(va);
      } catch (error) {
        this.machine.userFault(this.process, error, faults);
      }
    }
  }

  protected load32Miss(va: number): number {
    for (let faults = 1; ; faults++) {
      try {
        return this.mmu.load32(va);
      } catch (error) {
        this.machine.userFault(this.process, error, faults);
      }
    }
  }

  protected store8Miss(va: number, value: number): void {
    for (let faults = 1; ; faults++) {
      try {
        this.mmu.store8(va, value);
        return;
      } catch (error) {
        this.machine.userFault(this.process, error, faults);
      }
    }
  }

  store16(va: number, value: number): void {
    for (let faults = 1; ; faults++) {
      try {
        this.mmu.store16(va, value);
        return;
      } catch (error) {
        this.machine.userFault(this.process, error, faults);
      }
    }
  }

  protected store32Miss(va: number, value: number): void {
    for (let faults = 1; ; faults++) {
      try {
        this.mmu.store32(va, value);
        return;
      } catch (error) {
        this.machine.userFault(this.process, error, faults);
      }
    }
  }

  readBytes(va: number, length: number): Uint8Array {
    for (let faults = 1; ; faults++) {
      try {
        return this.mmu.readBytes(va, length);
      } catch (error) {
        this.machine.userFault(this.process, error, faults, pagesSpanned(va, length));
      }
    }
  }

  writeBytes(va: number, bytes: Uint8Array): void {
    for (let faults = 1; ; faults++) {
      try {
        this.mmu.writeBytes(va, bytes);
        return;
      } catch (error) {
        this.machine.userFault(this.process, error, faults, pagesSpanned(va, bytes.length));
      }
    }
  }

  fill(va: number, length: number, byte: number): void {
    for (let faults = 1; ; faults++) {
      try {
        this.mmu.fill(va, length, byte);
        return;
      } catch (error) {
        this.machine.userFault(this.process, error, faults, pagesSpanned(va, length));
      }
    }
  }

  /**
   * memmove within the process's memory, page by page through the MMU. A fault restarts the
   * copy, which is harmless when the ranges are apart; overlapping ones go through a buffer,
   * read whole before anything is written.
   */
  protected copyMiss(to: number, from: number, length: number): void {
    if (to < from + length && from < to + length) {
      this.writeBytes(to, this.readBytes(from, length));
      return;
    }
    for (let faults = 1; ; faults++) {
      try {
        this.mmu.copyWithin(to, from, length);
        return;
      } catch (error) {
        const pages = pagesSpanned(to, length) + pagesSpanned(from, length);
        this.machine.userFault(this.process, error, faults, pages);
      }
    }
  }

  /** An instruction fetch at `va` (a jump or call there). */
  fetch(va: number): void {
    for (let faults = 1; ; faults++) {
      try {
        this.mmu.fetch(va);
        return;
      } catch (error) {
        this.machine.userFault(this.process, error, faults);
      }
    }
  }
}

/** Pages that `[va, va + length)` touches, at least one. */
function pagesSpanned(va: number, length: number): number {
  const offset = va % PAGE_SIZE;
  return Math.max(1, Math.ceil(((offset < 0 ? offset + PAGE_SIZE : offset) + length) / PAGE_SIZE));
}
