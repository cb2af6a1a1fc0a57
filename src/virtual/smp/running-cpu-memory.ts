/**
 * Kernel memory as the code running now reaches it: every access goes through the MMU of the
 * CPU the simulator runs ({@link Cpus.current}), with that CPU's privilege and TLB, as kernel
 * code on CPU k uses CPU k's MMU. The slab allocator and the kernel's own objects read and
 * write the direct map through it.
 */
import type { MemoryAccess } from '../../hw/memory-access.js';
import type { Cpus } from './cpus.js';

export class RunningCpuMemory implements MemoryAccess {
  constructor(private readonly cpus: Cpus) {}

  load8(address: number): number {
    return this.cpus.current.mmu.load8(address);
  }

  load16(address: number): number {
    return this.cpus.current.mmu.load16(address);
  }

  load32(address: number): number {
    return this.cpus.current.mmu.load32(address);
  }

  store8(address: number, value: number): void {
    this.cpus.current.mmu.store8(address, value);
  }

  store16(address: number, value: number): void {
    this.cpus.current.mmu.store16(address, value);
  }

  store32(address: number, value: number): void {
    this.cpus.current.mmu.store32(address, value);
  }

  readBytes(address: number, length: number): Uint8Array {
    return this.cpus.current.mmu.readBytes(address, length);
  }

  writeBytes(address: number, bytes: Uint8Array): void {
    this.cpus.current.mmu.writeBytes(address, bytes);
  }

  fill(address: number, length: number, byte: number): void {
    this.cpus.current.mmu.fill(address, length, byte);
  }
}
