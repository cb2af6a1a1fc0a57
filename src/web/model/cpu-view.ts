/**
 * What the CPU view draws, read from the machine (no DOM: unit-tested in Node): each CPU, what
 * its CR3 holds and whether lazily, the task it last ran, the TLB shootdowns it received, and
 * the user translations its TLB caches.
 */
import { formatAddress } from '../../hw/address.js';
import type { Machine } from '../../kernel/machine.js';

/** User translations shown per CPU, at most. */
export const TLB_ENTRIES_SHOWN = 12;

/** One cached user translation, for people. */
export interface TlbRow {
  readonly virtualPage: string;
  readonly physicalFrame: string;
  /** `RW`/`RO`, `X`/`NX`, `D` when dirty. */
  readonly flags: string;
}

/** One CPU at one moment. */
export interface CpuRow {
  readonly cpu: number;
  /** `[pid] name` of the address space in CR3, or `kernel tables`. */
  readonly holds: string;
  readonly lazy: boolean;
  readonly shootdownsReceived: number;
  /** User translations cached, and the first {@link TLB_ENTRIES_SHOWN} of them. */
  readonly userEntries: number;
  readonly entries: readonly TlbRow[];
}

/** Every CPU of `machine`, now. */
export function cpuRows(machine: Machine): CpuRow[] {
  const processes = machine.processList.filter((p) => !p.ended);
  return machine.vm.cpus.all.map((cpu) => {
    const owner = processes.find((p) => p.space === cpu.loadedSpace);
    const user = cpu.mmu.tlb.entries().filter((entry) => entry.user && !entry.global);
    return {
      cpu: cpu.id,
      holds: owner === undefined ? 'kernel tables' : `[${owner.pid}] ${owner.name}`,
      lazy: cpu.lazy,
      shootdownsReceived: cpu.shootdownsReceived,
      userEntries: user.length,
      entries: user.slice(0, TLB_ENTRIES_SHOWN).map((entry) => ({
        virtualPage: formatAddress(entry.virtualPage),
        physicalFrame: formatAddress(entry.physicalFrame),
        flags: [entry.writable ? 'RW' : 'RO', entry.noExecute ? 'NX' : 'X', entry.dirty ? 'D' : '']
          .filter((flag) => flag !== '')
          .join(' '),
      })),
    };
  });
}
