/** /proc/vmstat: `name value` lines, the counters procps' vmstat reads among them. */
import { PAGE_SIZE } from '../hw/constants.js';
import { pagesToKb } from '../hw/size.js';
import { FrameUse, ZONE_DMA, ZONE_DMA32, ZONE_NORMAL } from '../physical/index.js';
import { ReclaimEvents } from '../virtual/reclaim/reclaim.js';
import { anonMemory } from './anon-memory.js';
import type { KernelView } from './kernel-view.js';

export function formatVmstat(machine: KernelView): string {
  const frames = machine.frames.stats();
  const used = (use: FrameUse) => frames.framesByUse[use] ?? 0;
  const slab = machine.slab.stats();
  const events = machine.vm.events;
  const counters = machine.frames.counters;
  const anon = used(FrameUse.USER);
  const lists = anonMemory(machine);
  const reclaim = machine.vm.reclaim;
  const scan = reclaim?.events ?? new ReclaimEvents();
  const policy = reclaim?.policy.counters ?? { activated: 0, deactivated: 0 };
  const pswpin = reclaim?.device.pswpin ?? 0;
  const pswpout = reclaim?.device.pswpout ?? 0;
  const rows: [string, number][] = [
    ['nr_free_pages', frames.freeFrames],
    ['nr_zone_inactive_anon', lists.inactive],
    ['nr_zone_active_anon', lists.active],
    ['nr_zone_inactive_file', 0],
    ['nr_zone_active_file', 0],
    ['nr_zone_unevictable', lists.unevictable],
    ['nr_zone_write_pending', 0],
    ['nr_mlock', lists.unevictable],
    ['nr_bounce', 0],
    ['nr_free_cma', 0],
    ['nr_inactive_anon', lists.inactive],
    ['nr_active_anon', lists.active],
    ['nr_inactive_file', 0],
    ['nr_active_file', 0],
    ['nr_unevictable', lists.unevictable],
    ['nr_slab_reclaimable', Math.floor(slab.reclaimableBytes / PAGE_SIZE)],
    ['nr_slab_unreclaimable', Math.floor(slab.unreclaimableBytes / PAGE_SIZE)],
    ['nr_anon_pages', anon],
    ['nr_mapped', 0],
    ['nr_file_pages', 0],
    ['nr_dirty', 0],
    ['nr_writeback', 0],
    ['nr_shmem', 0],
    ['nr_anon_transparent_hugepages', 0],
    ['nr_kernel_stack', pagesToKb(used(FrameUse.KERNEL_STACK))],
    ['nr_page_table_pages', used(FrameUse.PAGE_TABLE)],
    ['nr_swapcached', lists.swapCached],
    ['nr_dirty_threshold', 0],
    ['nr_dirty_background_threshold', 0],
    // pgpgin/pgpgout count swap I/O in KiB.
    ['pgpgin', pagesToKb(pswpin)],
    ['pgpgout', pagesToKb(pswpout)],
    ['pswpin', pswpin],
    ['pswpout', pswpout],
    ['pgalloc_dma', counters.pgalloc[ZONE_DMA] ?? 0],
    ['pgalloc_dma32', counters.pgalloc[ZONE_DMA32] ?? 0],
    ['pgalloc_normal', counters.pgalloc[ZONE_NORMAL] ?? 0],
    ['pgalloc_movable', 0],
    ['allocstall_dma', 0],
    ['allocstall_dma32', 0],
    ['allocstall_normal', scan.allocStalls],
    ['allocstall_movable', 0],
    ['pgfree', counters.pgfree],
    ['pgactivate', policy.activated],
    ['pgdeactivate', policy.deactivated],
    ['pgfault', events.pgfault],
    ['pgmajfault', events.pgmajfault],
    ['pgrefill', policy.deactivated],
    ['pgscan_kswapd', scan.pgscanKswapd],
    ['pgscan_direct', scan.pgscanDirect],
    ['pgsteal_kswapd', scan.pgstealKswapd],
    ['pgsteal_direct', scan.pgstealDirect],
    ['pageoutrun', scan.kswapdRuns],
    ['oom_kill', machine.oomKills],
    ['thp_fault_alloc', 0],
    ['thp_fault_fallback', 0],
    ['thp_collapse_alloc', 0],
    ['thp_split_page', 0],
    ['nr_tlb_remote_flush', events.tlbShootdownIpis],
    ['nr_tlb_remote_flush_received', events.tlbShootdownIpis],
    ['nr_tlb_local_flush_all', events.tlbFullFlushes],
    ['nr_tlb_local_flush_one', events.tlbSinglePageFlushes],
    ['cow_fault', events.cowFaults],
    ['pgfault_demand_zero', events.demandZero],
    ['stack_growth', events.stackGrowths],
  ];
  return rows.map(([name, value]) => `${name} ${value}\n`).join('');
}
