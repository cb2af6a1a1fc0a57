/** A bare virtual-memory layer over hw + physical, without the kernel, for layer tests. */
import { Cpu } from '../../src/hw/cpu.js';
import { generateMemoryMap } from '../../src/hw/memory-map.js';
import { Mmu, PageFault } from '../../src/hw/mmu.js';
import { PhysicalMemory } from '../../src/hw/ram.js';
import { parseSize } from '../../src/hw/size.js';
import { PhysicalAllocator } from '../../src/physical/index.js';
import type { AddressSpace } from '../../src/virtual/address-space.js';
import { FaultResult } from '../../src/virtual/stats.js';
import { VirtualMemory } from '../../src/virtual/virtual-memory.js';

export function makeVm(memory = '64M') {
  const map = generateMemoryMap(parseSize(memory));
  const ram = new PhysicalMemory(map.installed);
  const cpu = new Cpu();
  const mmu = new Mmu(ram, cpu);
  const frames = new PhysicalAllocator(ram, map);
  const vm = new VirtualMemory(ram, mmu, frames, map);
  return { ram, cpu, mmu, frames, vm };
}

/** What a user access ended in. */
export type Outcome = { ok: true; value: number } | { ok: false; result: FaultResult };

/**
 * Runs a user-mode (CPL 3) access in `space` the way the CPU and kernel do: on a page fault,
 * the handler runs at CPL 0 and the access is retried, until it succeeds or the handler refuses.
 */
export function user(vm: VirtualMemory, space: AddressSpace, access: () => unknown): Outcome {
  if (vm.active !== space) vm.switchTo(space);
  for (let attempt = 0; attempt < 8; attempt++) {
    vm.cpu.cpl = 3;
    try {
      const value = access();
      return { ok: true, value: typeof value === 'number' ? value : 0 };
    } catch (error) {
      if (!(error instanceof PageFault)) throw error;
      vm.cpu.cpl = 0;
      const result = space.handleFault(error.cr2, error.errorCode);
      if (result !== FaultResult.HANDLED) return { ok: false, result };
    } finally {
      vm.cpu.cpl = 0;
    }
  }
  throw new Error('fault loop');
}

/** Writes a 32-bit value at `va` as user code; throws if the access is refused. */
export function poke(vm: VirtualMemory, space: AddressSpace, va: number, value: number): void {
  const outcome = user(vm, space, () => vm.mmu.store32(va, value));
  if (!outcome.ok) throw new Error(`store at ${va.toString(16)} refused: ${outcome.result}`);
}

/** Reads a 32-bit value at `va` as user code; throws if the access is refused. */
export function peek(vm: VirtualMemory, space: AddressSpace, va: number): number {
  const outcome = user(vm, space, () => vm.mmu.load32(va));
  if (!outcome.ok) throw new Error(`load at ${va.toString(16)} refused: ${outcome.result}`);
  return outcome.value;
}
