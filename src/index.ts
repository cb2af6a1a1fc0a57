/**
 * wallos-memory: the WallOS memory system over a simulated x86-64 machine.
 *
 * The package root exports the {@link Machine} (boot, spawn, run, procfs) and the Linux
 * constants; each layer can also be used on its own (see docs/architecture.md):
 * `PhysicalAllocator` (buddy), `VirtualMemory` / `AddressSpace` (paging), `SlabAllocator`
 * (kernel objects) and `UserAllocator` / `createFlatHeap` (malloc over any memory).
 */
export * from './errors.js';
export * from './hw/address.js';
export * from './hw/constants.js';
export { Cpu } from './hw/cpu.js';
export type { MemoryAccess, WordWindows } from './hw/memory-access.js';
export * from './hw/memory-map.js';
export * from './hw/mmu.js';
export * from './hw/paging.js';
export * from './hw/ram.js';
export * from './hw/size.js';
export { TLB_ENTRIES, Tlb, type TlbEntry } from './hw/tlb.js';
export { InvariantError, KernelOops, SyscallError } from './kernel/errors.js';
export { FaultInjector, type InjectionSite, NEVER } from './kernel/fault-injection.js';
export { type BootOptions, Machine, type SpawnOptions } from './kernel/machine.js';
export { type FaultReport, ProcessHandle, type Program } from './kernel/process.js';
export type { UserContext, WaitStatus } from './kernel/user-context.js';
export * from './kernel-alloc/index.js';
export * from './linux-abi.js';
export {
  FrameUse,
  formatBuddyinfo,
  InvalidFrameError,
  InvalidFreeError,
  MAX_ORDER,
  OutOfMemoryError,
  PhysicalAllocator,
  PhysicalInvariantError,
  ZONE_DMA,
  ZONE_DMA32,
  ZONE_NAMES,
  ZONE_NORMAL,
} from './physical/index.js';
export { ProcFsError } from './procfs/procfs.js';
export {
  type ChoiceSource,
  ListChoices,
  runStress,
  SeededChoices,
  type StressOptions,
  type StressReport,
} from './reliability/stress.js';
export * from './trace/index.js';
export * from './user-alloc/index.js';
export { AddressSpace } from './virtual/address-space.js';
export * from './virtual/layout.js';
export { type RecordStore, VirtualMemory } from './virtual/virtual-memory.js';
