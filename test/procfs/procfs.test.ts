import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/linux-abi.js';
import { withProcFile } from './procps.js';

/** A machine with two live processes holding memory, read while they are running. */
function busyMachine() {
  const machine = Machine.boot({ memory: '128M' });
  const seen: Record<string, string> = {};
  machine.spawn(
    function* (ctx) {
      const base = ctx.mmap(0, 64 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      for (let i = 0; i < 64; i++) ctx.store8(base + i * PAGE_SIZE, 1);
      seen.maps = machine.procfs.read('/proc/self/maps');
      seen.status = machine.procfs.read(`/proc/${ctx.getpid()}/status`);
      yield;
      for (const path of ['/proc/meminfo', '/proc/vmstat', '/proc/slabinfo', '/proc/buddyinfo']) {
        seen[path] = machine.procfs.read(path);
      }
    },
    { name: 'holder' },
  );
  machine.spawn(function* () {
    yield;
  });
  machine.run();
  return { machine, seen };
}

function field(text: string, name: string): number {
  const match = new RegExp(`^${name.replace(/[()]/g, '\\$&')}:\\s+(\\d+)`, 'm').exec(text);
  if (match === null) throw new Error(`${name} missing`);
  return Number(match[1]);
}

describe('/proc files', () => {
  it('meminfo agrees with the layers and is read correctly by free(1)', () => {
    const { machine, seen } = busyMachine();
    const meminfo = seen['/proc/meminfo']!;
    expect(meminfo).toMatch(/^MemTotal: {7}\s*\d+ kB\n/);
    expect(field(meminfo, 'MemTotal')).toBe(machine.frames.managedFrames * 4);
    expect(field(meminfo, 'AnonPages')).toBeGreaterThanOrEqual(64 * 4);
    expect(field(meminfo, 'Slab')).toBe(
      field(meminfo, 'SReclaimable') + field(meminfo, 'SUnreclaim'),
    );
    expect(field(meminfo, 'KernelStack')).toBe(2 * 16);
    expect(
      field(meminfo, 'DirectMap2M') + field(meminfo, 'DirectMap4k') + field(meminfo, 'DirectMap1G'),
    ).toBe(128 * 1024);
    const free = withProcFile({ '/proc/meminfo': meminfo }, 'free -k');
    const mem = free
      .split('\n')
      .find((l) => l.startsWith('Mem:'))!
      .split(/\s+/);
    expect(Number(mem[1])).toBe(field(meminfo, 'MemTotal'));
    expect(Number(mem[3])).toBe(field(meminfo, 'MemFree'));
  });

  it('vmstat is read by vmstat(8)', () => {
    const { seen } = busyMachine();
    const vmstat = seen['/proc/vmstat']!;
    expect(vmstat).toMatch(/^nr_free_pages \d+$/m);
    expect(field(vmstat.replaceAll(' ', ': '), 'pgfault')).toBeGreaterThanOrEqual(64);
    const out = withProcFile(
      { '/proc/vmstat': vmstat, '/proc/meminfo': seen['/proc/meminfo']! },
      'vmstat -s',
    );
    const total = /(\d+) K total memory/.exec(out);
    expect(Number(total![1])).toBe(field(seen['/proc/meminfo']!, 'MemTotal'));
  });

  it('slabinfo is read by slabtop(1) and shows the kernel object caches', () => {
    const { seen } = busyMachine();
    const slabinfo = seen['/proc/slabinfo']!;
    expect(slabinfo.split('\n')[0]).toBe('slabinfo - version: 2.1');
    const out = withProcFile({ '/proc/slabinfo': slabinfo }, 'slabtop -o -s c');
    for (const cache of ['task_struct', 'mm_struct', 'vm_area_struct'])
      expect(out).toContain(cache);
  });

  it('buddyinfo, maps and status are in Linux format', () => {
    const { seen } = busyMachine();
    expect(seen['/proc/buddyinfo']).toMatch(/^Node 0, zone {6}DMA( +\d+){11} \n/);
    const maps = seen.maps!.trimEnd().split('\n');
    for (const line of maps)
      expect(line).toMatch(/^[0-9a-f]{8,}-[0-9a-f]{8,} [r-][w-][x-][ps] 00000000 00:00 0 /);
    expect(maps[0]).toMatch(/\/bin\/holder$/);
    expect(seen.status).toMatch(/^Name:\tholder\n/);
    expect(field(seen.status!, 'VmRSS')).toBeGreaterThanOrEqual(64 * 4);
    expect(seen.status).toMatch(/^State:\tR \(running\)$/m);
  });

  it('rejects unknown paths and processes', () => {
    const { machine } = busyMachine();
    expect(() => machine.procfs.read('/proc/nothing')).toThrow(/no such file/);
    expect(() => machine.procfs.read('/proc/999/maps')).toThrow(/no such file/);
  });
});
