/**
 * The shell's reclaim commands: `pageout` (MADV_PAGEOUT inside a process), `swapon` (the swap
 * device, as `swapon --show` prints it) and `lru` (the reclaim policy's lists, each page with
 * the processes and addresses that map it, found through the reverse map, and its Accessed and
 * Dirty bits there).
 */
import { formatAddress } from '../hw/address.js';
import { PAGE_SIZE } from '../hw/constants.js';
import { PTE_A, PTE_D } from '../hw/paging.js';
import { formatBytes } from '../hw/size.js';
import type { Machine } from '../kernel/machine.js';
import { MADV_PAGEOUT } from '../linux-abi.js';
import type { AddressSpace } from '../virtual/address-space.js';
import { Mappings } from '../virtual/reclaim/rmap.js';
import { SWAP_PRIORITY } from '../virtual/swap/swap-device.js';
import {
  addressArg,
  countArg,
  type ShellCommand,
  type ShellSession,
  sizeArg,
} from './shell-command.js';
import { formatCount, formatTable, type Painter } from './terminal.js';

/** Pages `lru` lists of each list unless told. */
const LRU_ROWS_SHOWN = 16;

export const RECLAIM_COMMANDS: readonly ShellCommand[] = [
  {
    usage: 'pageout PID ADDR [SIZE]',
    help: 'madvise(MADV_PAGEOUT) in PID: its pages there go to swap now',
    run: pageout,
  },
  {
    usage: 'swapon',
    help: 'the swap device, as swapon --show prints it',
    run: (session) => formatSwapon(session.machine, session.painter),
  },
  {
    usage: 'lru [N]',
    help: `reclaim's lists, newest first (N pages of each, default ${LRU_ROWS_SHOWN})`,
    run: (session, [limit]) =>
      formatLru(
        session.machine,
        session.painter,
        limit === undefined ? LRU_ROWS_SHOWN : countArg(limit),
      ),
  },
];

/** madvise(ADDR, SIZE, MADV_PAGEOUT) inside the process: how many pages went to swap. */
function pageout(session: ShellSession, [pid, startText, sizeText]: string[]): string {
  const start = addressArg(startText!);
  const size = sizeText === undefined ? PAGE_SIZE : sizeArg(sizeText);
  const process = session.residents.get(pid!);
  const swappedBefore = process.space.swapEntries;
  return session.residents.run(pid!, (ctx) => {
    ctx.madvise(start, size, MADV_PAGEOUT);
    const out = process.space.swapEntries - swappedBefore;
    return `madvise(${formatAddress(start)}, ${size}, MADV_PAGEOUT) = 0: ${out} page(s) now in swap`;
  });
}

/** `swapon`: the swap device like `swapon --show` (NAME TYPE SIZE USED PRIO), or why none. */
function formatSwapon(machine: Machine, painter: Painter): string {
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
function formatLru(machine: Machine, painter: Painter, limit: number): string {
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
