/** Machine counters sampled over time, for the charts: free memory, page faults, RSS, and their scales. */
import { PAGE_SIZE } from '../../hw/constants.js';
import type { Machine } from '../../kernel/machine.js';

/** One sample of the machine's counters. */
export interface CounterSample {
  /** Scheduler steps run when the sample was taken. */
  readonly step: number;
  readonly freeBytes: number;
  /** Page faults since boot (vmstat pgfault). */
  readonly faults: number;
  /** Copy-on-write faults since boot. */
  readonly cowFaults: number;
  /** Resident bytes of every live process together. */
  readonly rssBytes: number;
  /** Slab bytes (meminfo Slab). */
  readonly slabBytes: number;
  /** Pages read from swap and written to it since boot (vmstat pswpin, pswpout). */
  readonly swapIns: number;
  readonly swapOuts: number;
  /** Pages reclaim scanned since boot, kswapd and direct (vmstat pgscan_*). */
  readonly scanned: number;
}

/** The counters of `machine` now. */
export function sampleCounters(machine: Machine, step: number): CounterSample {
  const reclaim = machine.vm.reclaim ?? undefined;
  let rssPages = 0;
  for (const process of machine.processList) if (!process.ended) rssPages += process.space.rss;
  return {
    step,
    freeBytes: machine.frames.freeFrames * PAGE_SIZE,
    faults: machine.vm.events.pgfault,
    cowFaults: machine.vm.events.cowFaults,
    rssBytes: rssPages * PAGE_SIZE,
    slabBytes: machine.slab.stats().slabBytes,
    swapIns: reclaim?.device.pswpin ?? 0,
    swapOuts: reclaim?.device.pswpout ?? 0,
    scanned: (reclaim?.events.pgscanKswapd ?? 0) + (reclaim?.events.pgscanDirect ?? 0),
  };
}

/** Per-step change of a cumulative counter: [value − value of the sample before] (0 first). */
export function perStep(samples: readonly CounterSample[], key: keyof CounterSample): number[] {
  return samples.map((sample, i) => {
    if (i === 0) return 0;
    const before = samples[i - 1]!;
    const steps = Math.max(1, sample.step - before.step);
    return (sample[key] - before[key]) / steps;
  });
}

/** A constant series still gets an axis this tall around its value (in display units)… */
const FLAT_SPAN = 1;
/** …or this share of the value, when larger. */
const FLAT_SHARE = 0.02;
/** Room above and below the data, as a share of its range. */
const PADDING_SHARE = 0.08;

/** The y range for `values`: their own span, padded; never empty. */
export function seriesRange(values: readonly number[]): { min: number; max: number } {
  if (values.length === 0) return { min: 0, max: FLAT_SPAN };
  let min = Math.min(...values);
  let max = Math.max(...values);
  if (max - min === 0) {
    const half = Math.max(FLAT_SPAN, Math.abs(max) * FLAT_SHARE) / 2;
    return { min: Math.max(0, min - half), max: max + half };
  }
  const pad = (max - min) * PADDING_SHARE;
  min = Math.max(0, min - pad);
  max += pad;
  return { min, max };
}
