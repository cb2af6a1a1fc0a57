/**
 * What the shell shows of reclaim: the swap device (`swapon`, as `swapon --show` prints it)
 * and the reclaim policy's lists (`lru`), each page with the processes and addresses that map
 * it (found through the reverse map) and its Accessed and Dirty bits there.
 */
import { formatAddress } from '../hw/address.js';
import { PAGE_SIZE } from '../hw/constants.js';
import { PTE_A, PTE_D } from '../hw/paging.js';
import { formatBytes } from '../hw/size.js';
import type { Machine } from '../kernel/machine.js';
import type { AddressSpace } from '../virtual/address-space.js';
import { Mappings } from '../virtual/reclaim/rmap.js';
import { SWAP_PRIORITY } from '../virtual/swap/swap-device.js';
import { formatCount, formatTable, type Painter } from './terminal.js';

/** Pages `lru` lists of each list unless told. */
export const LRU_ROWS_SHOWN = 16;

/** `swapon`: the swap device like `swapon --show` (NAME TYPE SIZE USED PRIO), or why none. */
export function formatSwapon(machine: Machine, painter: Painter): string {
  const reclaim = machine.vm.reclaim;
  if (reclaim === null) return 'no swap (boot the shell with --swap SIZE)';
  const device = reclaim.device;
  const table = formatTable(
    painter,
    ['NAME', 'TYPE', 'SIZE', 'USED', 'PRIO'],
    [
      [
        device.path,
        'partition',
        formatBytes(device.usableSlots * PAGE_SIZE),
        formatBytes(device.usedSlots * PAGE_SIZE),
        SWAP_PRIORITY,
      ],
    ],
    ['left', 'left', 'right', 'right', 'right'],
  );
  const cached = `${formatCount(reclaim.cache.size)} of its pages also in RAM (swap cache)`;
  return `${table}\nreclaim policy ${reclaim.policy.name}; ${cached}`;
}

/** `lru [N]`: each list of the reclaim policy, newest first, at most `limit` pages of each. */
export function formatLru(machine: Machine, painter: Painter, limit: number): string {
  const reclaim = machine.vm.reclaim;
  if (reclaim === null) return 'no reclaim without swap: no LRU lists (boot with --swap SIZE)';
  const policy = reclaim.policy;
  const pids = new Map<AddressSpace, number>();
  for (const process of machine.processList)
    if (!process.ended) pids.set(process.space, process.pid);
  const mappings = new Mappings();
  const sections = policy.listNames.map((name, list) => {
    const rows: (string | number)[][] = [];
    let length = 0;
    policy.forEachOnList(list, (pfn) => {
      length++;
      if (rows.length < limit) rows.push(lruRow(machine, pfn, pids, mappings));
    });
    const table = formatTable(painter, ['FRAME', 'MAPPED AT (PID:ADDRESS)', 'A', 'D'], rows, [
      'left',
      'left',
    ]);
    const more = length > rows.length ? `\n… and ${formatCount(length - rows.length)} more` : '';
    return `${name}: ${formatCount(length)} pages, newest first\n${table}${more}`;
  });
  const locked = `unevictable (mlocked, off the lists): ${formatCount(reclaim.unevictable)} pages`;
  return `reclaim policy ${policy.name}\n${sections.join('\n')}\n${locked}`;
}

/** One page of a list: its frame, where it is mapped, and its A and D bits in any mapping. */
function lruRow(
  machine: Machine,
  pfn: number,
  pids: Map<AddressSpace, number>,
  mappings: Mappings,
): (string | number)[] {
  const pa = pfn * PAGE_SIZE;
  machine.vm.reclaim!.rmap.collect(pa, mappings);
  const places: string[] = [];
  let bits = 0;
  for (let i = 0; i < mappings.count; i++) {
    const space = mappings.spaces[i]!;
    places.push(`${pids.get(space) ?? '?'}:${formatAddress(mappings.vas[i]!)}`);
    bits |= space.tables.low(mappings.entries[i]!);
  }
  mappings.clear();
  return [formatAddress(pa), places.join(' '), bits & PTE_A ? 'A' : '-', bits & PTE_D ? 'D' : '-'];
}
