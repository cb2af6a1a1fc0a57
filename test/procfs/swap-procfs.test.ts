import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/linux-abi.js';
import { withProcFile } from './procps.js';

/** A machine whose one process has pushed part of 1.5x RAM to swap; /proc read meanwhile. */
function swappingMachine() {
  const machine = Machine.boot({ memory: '16M', swap: '32M' });
  const pages = Math.floor(machine.frames.managedFrames * 1.5);
  const seen: Record<string, string> = {};
  machine.spawn(
    function* (ctx) {
      const base = ctx.mmap(
        0,
        pages * PAGE_SIZE,
        PROT_READ | PROT_WRITE,
        MAP_PRIVATE | MAP_ANONYMOUS,
      );
      for (let i = 0; i < pages; i++) ctx.store32(base + i * PAGE_SIZE, i);
      for (let i = 0; i < 100; i++) ctx.load32(base + i * PAGE_SIZE); // read back: swap-ins
      yield;
      for (const file of ['/proc/meminfo', '/proc/vmstat', '/proc/swaps', '/proc/zoneinfo'])
        seen[file] = machine.procfs.read(file);
      for (const file of ['smaps', 'status', 'stat'])
        seen[file] = machine.procfs.read(`/proc/self/${file}`);
      seen.majorFaults = String(machine.current!.space.majorFaults);
      seen.minorFaults = String(machine.current!.space.minorFaults);
    },
    { name: 'swapper' },
  );
  machine.run();
  return { machine, seen };
}

function kbField(text: string, name: string): number {
  const match = new RegExp(`^${name.replace(/[()]/g, '\\$&')}:\\s+(\\d+)( kB)?$`, 'm').exec(text);
  if (match === null) throw new Error(`${name} missing`);
  return Number(match[1]);
}

describe('/proc under swap', () => {
  it('free(1) shows the swap line from our meminfo', () => {
    const { seen } = swappingMachine();
    const meminfo = seen['/proc/meminfo']!;
    const total = kbField(meminfo, 'SwapTotal');
    const free = kbField(meminfo, 'SwapFree');
    expect(total).toBe(32 * 1024 - 4);
    expect(free).toBeLessThan(total);
    const swap = withProcFile({ '/proc/meminfo': meminfo }, 'free -k')
      .split('\n')
      .find((l) => l.startsWith('Swap:'))!
      .trim()
      .split(/\s+/);
    expect(swap.slice(1).map(Number)).toEqual([total, total - free, free]);
  });

  it('vmstat(8) reads pswpin/pswpout and shows the si and so columns', () => {
    const { machine, seen } = swappingMachine();
    const reclaim = machine.vm.reclaim!;
    const files = {
      '/proc/vmstat': seen['/proc/vmstat']!,
      '/proc/meminfo': seen['/proc/meminfo']!,
    };
    const summary = withProcFile(files, 'vmstat -s');
    const count = (label: string) => Number(new RegExp(`(\\d+) ${label}`).exec(summary)![1]);
    expect(count('pages swapped in')).toBe(reclaim.device.pswpin);
    expect(count('pages swapped out')).toBe(reclaim.device.pswpout);
    expect(reclaim.device.pswpin).toBeGreaterThan(0);
    expect(count('K total swap')).toBe(kbField(seen['/proc/meminfo']!, 'SwapTotal'));
    const table = withProcFile(files, 'vmstat').split('\n');
    expect(table[1]).toMatch(/\bsi\s+so\b/);
  });

  it('smaps, status and /proc/swaps agree on what is in swap', () => {
    const { machine, seen } = swappingMachine();
    const swapKb = [...seen.smaps!.matchAll(/^Swap:\s+(\d+) kB$/gm)].reduce(
      (sum, m) => sum + Number(m[1]),
      0,
    );
    expect(swapKb).toBeGreaterThan(0);
    expect(kbField(seen.status!, 'VmSwap')).toBe(swapKb);
    const line = /^\/dev\/vdb +partition\t(\d+)\t+(\d+)\t+-2$/m.exec(seen['/proc/swaps']!);
    // Slots in use: those of swap entries, and those the swap cache holds (pages read back).
    expect(Number(line![2])).toBe(swapKb + kbField(seen['/proc/meminfo']!, 'SwapCached'));
    expect(kbField(seen['/proc/meminfo']!, 'SwapCached')).toBe(100 * 4);
    const rss = [...seen.smaps!.matchAll(/^Rss:\s+(\d+) kB$/gm)].reduce(
      (s, m) => s + Number(m[1]),
      0,
    );
    expect(kbField(seen.status!, 'VmRSS')).toBe(rss);
    // Every VMA's block lists Linux's fields in Linux's order, values aligned at column 24.
    const block = seen.smaps!.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/)[0]!.split('\n');
    expect(block.slice(1, 5)).toEqual([
      'Size:                 16 kB',
      'KernelPageSize:        4 kB',
      'MMUPageSize:           4 kB',
      'Rss:                   0 kB',
    ]);
    expect(block.map((l) => l.split(':')[0]).slice(5, 23)).toEqual([
      'Pss',
      'Pss_Dirty',
      'Shared_Clean',
      'Shared_Dirty',
      'Private_Clean',
      'Private_Dirty',
      'Referenced',
      'Anonymous',
      'KSM',
      'LazyFree',
      'AnonHugePages',
      'ShmemPmdMapped',
      'FilePmdMapped',
      'Shared_Hugetlb',
      'Private_Hugetlb',
      'Swap',
      'SwapPss',
      'Locked',
    ]);
    machine.check();
  });

  it('stat carries the major faults, and ps(1) reads them (maj_flt)', () => {
    const { seen } = swappingMachine();
    const fields = seen.stat!.trimEnd().split(' ');
    expect(fields).toHaveLength(52);
    expect(fields[1]).toBe('(swapper)');
    expect(fields[11]).toBe(seen.majorFaults);
    expect(Number(seen.majorFaults)).toBeGreaterThan(0);
    // ps takes the fault counts and the name from stat (its rss comes from statm).
    const ps = withProcFile({ '/proc/$$/stat': seen.stat! }, 'ps -o min_flt=,maj_flt=,comm= -p $$');
    expect(ps.trim().split(/\s+/)).toEqual([seen.minorFaults, seen.majorFaults, 'swapper']);
  });

  it('zoneinfo lists every zone with its watermarks, free pages first', () => {
    const { machine, seen } = swappingMachine();
    const zoneinfo = seen['/proc/zoneinfo']!;
    const zones = [...zoneinfo.matchAll(/^Node 0, zone +(\w+)$/gm)].map((m) => m[1]);
    expect(zones).toEqual(['DMA', 'DMA32', 'Normal']);
    const mins = [...zoneinfo.matchAll(/^ {8}min {6}(\d+)$/gm)].map((m) => Number(m[1]));
    expect(mins.reduce((a, b) => a + b, 0)).toBe(machine.watermarks.min);
    expect(zoneinfo).toMatch(/^ {2}pages free {5}\d+$/m);
  });
});
