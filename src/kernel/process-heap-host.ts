/**
 * How a process's malloc heap reaches the kernel: through system calls only, exactly as a libc
 * does, each ending as the system call does (the process's mm_struct written back, VmPeak kept).
 * The allocator itself runs in user mode over the process's own memory.
 */
import { MAP_ANONYMOUS, MAP_PRIVATE, MREMAP_MAYMOVE, PROT_READ, PROT_WRITE } from '../linux-abi.js';
import type { HeapHost } from '../user-alloc/index.js';
import type { AddressSpace } from '../virtual/address-space.js';
import type { Machine } from './machine.js';
import type { Process } from './process.js';
import type { UserMemory } from './user-memory.js';

export class ProcessHeapHost implements HeapHost {
  readonly memory: UserMemory;

  constructor(
    private readonly machine: Machine,
    private readonly process: Process,
  ) {
    this.memory = machine.memoryOf(process);
  }

  /** sbrk(3) over brk(2): the old break, or -1. */
  sbrk(increment: number): number {
    return this.systemCall((space) => space.moveBreak(increment));
  }

  mmap(length: number): number {
    const address = this.systemCall((space) =>
      space.mmap(0, length, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS),
    );
    return address < 0 ? -1 : address;
  }

  munmap(address: number, length: number): number {
    return this.systemCall((space) => space.munmap(address, length)) < 0 ? -1 : 0;
  }

  /** mremap(2) with MREMAP_MAYMOVE: the pages move by their page tables, never copied. */
  mremap(address: number, oldLength: number, newLength: number): number {
    const result = this.systemCall((space) =>
      space.mremap(address, oldLength, newLength, MREMAP_MAYMOVE),
    );
    return result < 0 ? -1 : result;
  }

  abort(message: string): never {
    return this.machine.abort(this.process, message);
  }

  /** Runs `work` in the kernel on the process's space and ends as a system call does. */
  private systemCall(work: (space: AddressSpace) => number): number {
    return this.machine.enterKernel(() => {
      const result = work(this.process.space);
      this.machine.syncMm(this.process);
      return result;
    });
  }
}
