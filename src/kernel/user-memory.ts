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
 * here. Their page faults come back as {@link PAGE_FAULTED} rather than as exceptions: a
 * demand-zero fault is routine, and throwing one cost more than the rest of its handling. The
 * rarer faults (#GP, a word across two pages, 16-bit and bulk accesses) are thrown. The bulk accesses (readBytes, writeBytes, fill, copies) share
 * one loop that resumes where a fault stopped them: a closure per bulk access costs nothing
 * next to the pages it copies.
 */
import type { MemoryAccess } from '../hw/memory-access.js';
import { checkLength, PAGE_FAULTED, UserModeMemory } from '../hw/mmu.js';
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
        const value = this.mmu.tryLoad8(va);
        if (value !== PAGE_FAULTED) return value;
      } catch (error) {
        this.machine.userFault(this.process, error, faults);
        continue;
      }
      this.pageFault(faults);
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
        const value = this.mmu.tryLoad32(va);
        if (value !== PAGE_FAULTED) return value;
      } catch (error) {
        this.machine.userFault(this.process, error, faults);
        continue;
      }
      this.pageFault(faults);
    }
  }

  protected store8Miss(va: number, value: number): void {
    for (let faults = 1; ; faults++) {
      try {
        if (this.mmu.tryStore8(va, value)) return;
      } catch (error) {
        this.machine.userFault(this.process, error, faults);
        continue;
      }
      this.pageFault(faults);
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
        if (this.mmu.tryStore32(va, value)) return;
      } catch (error) {
        this.machine.userFault(this.process, error, faults);
        continue;
      }
      this.pageFault(faults);
    }
  }

  /** The page fault the MMU just recorded, to the kernel (the `faults`th of its access). */
  private pageFault(faults: number): void {
    const mmu = this.mmu;
    this.machine.userPageFault(this.process, mmu.cpu.cr2, mmu.faultErrorCode, faults);
  }

  readBytes(va: number, length: number): Uint8Array {
    checkLength(length);
    const out = new Uint8Array(length);
    this.resumable(length, (done) => this.mmu.tryReadInto(va + done, out, done, length - done));
    return out;
  }

  writeBytes(va: number, bytes: Uint8Array): void {
    this.resumable(bytes.length, (done) => this.mmu.tryWriteBytes(va + done, bytes, done));
  }

  protected fillMiss(va: number, length: number, byte: number): void {
    this.resumable(length, (done) => this.mmu.tryFill(va + done, length - done, byte));
  }

  /**
   * memmove within the process's memory, page by page through the MMU, resuming after each
   * fault. Overlapping ranges go through a buffer, read whole before anything is written.
   */
  protected copyMiss(to: number, from: number, length: number): void {
    if (to < from + length && from < to + length) {
      this.writeBytes(to, this.readBytes(from, length));
      return;
    }
    this.resumable(length, (done) => this.mmu.tryCopy(to + done, from + done, length - done));
  }

  /**
   * Runs a bulk access of `length` bytes that the MMU performs forward page by page: `run(done)`
   * goes on from byte `done` and returns how many more it did, stopping at a page that faults
   * (the MMU's resumable forms). Like an interrupted `rep movsb`, whose RSI/RDI/RCX keep its
   * progress, the access resumes after the fault where it stopped instead of from the start: a
   * copy costs one pass and at most a fault or two per page, however many of its pages fault.
   * The fault-loop count starts again at each step forward. A `length` that counts no bytes
   * (negative, fractional, not finite) is the program's error, thrown to it before the loop:
   * inside, every error but a fault is the kernel's own (an oops).
   */
  private resumable(length: number, run: (done: number) => number): void {
    checkLength(length);
    let done = 0;
    for (let faults = 1; ; faults++) {
      let reached: number;
      try {
        reached = done + run(done);
      } catch (error) {
        this.machine.userFault(this.process, error, faults); // #GP: a non-canonical address
        continue;
      }
      if (reached >= length) return;
      if (reached > done) {
        done = reached;
        faults = 1;
      }
      this.pageFault(faults);
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
