/**
 * The user allocator's whole view of its environment. In a simulated process these are syscalls
 * (brk, mmap, munmap) and SIGABRT; standalone they are backed by one ArrayBuffer.
 */
import { WallosError } from '../errors.js';
import type { MemoryAccess } from '../hw/memory-access.js';

/** What the allocator needs from its environment: in a process, syscalls; standalone, a buffer. */
export interface HeapHost {
  /** Loads and stores at the addresses the allocator hands out (user virtual addresses). */
  readonly memory: MemoryAccess;
  /** Moves the break by `increment` bytes (negative shrinks); the previous break, or -1 (ENOMEM). */
  sbrk(increment: number): number;
  /** Maps `length` bytes of fresh zeroed read-write anonymous pages; their address, or -1. */
  mmap(length: number): number;
  /** Unmaps `[address, address + length)`; 0, or -1 on failure. */
  munmap(address: number, length: number): number;
  /**
   * Resizes the mapping `[address, address + oldLength)` (page multiples) to `newLength`,
   * moving it if it cannot grow in place, its contents kept: mremap(2) with MREMAP_MAYMOVE.
   * The mapping's address, or -1 (nothing changed). A host without it makes realloc of a
   * mapped block allocate, copy and free instead.
   */
  mremap?(address: number, oldLength: number, newLength: number): number;
  /** Ends the program like glibc's abort(): in a process, SIGABRT. Never returns. */
  abort(message: string): never;
}

/** The heap found itself corrupted (or misused) and aborted, as glibc's malloc_printerr does. */
export class HeapCorruptionError extends WallosError {
  constructor(message: string) {
    super('HEAP_CORRUPTION', message);
  }
}
