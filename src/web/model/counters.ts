/** Machine counters sampled over time, for the charts: free memory, page faults, RSS. */
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
}

/** The counters of `machine` now. */
export function sampleCounters(machine: Machine, step: number): CounterSample {
  let rssPages = 0;
  for (const process of machine.processList) if (!process.ended) rssPages += process.space.rss;
  return {
    step,
    freeBytes: machine.frames.freeFrames * PAGE_SIZE,
    faults: machine.vm.events.pgfault,
    cowFaults: machine.vm.events.cowFaults,
    rssBytes: rssPages * PAGE_SIZE,
    slabBytes: machine.slab.stats().slabBytes,
  };
}

/** The last `capacity` samples, oldest first. */
export class CounterHistory {
  private readonly samples: CounterSample[] = [];

  constructor(readonly capacity: number) {}

  /** Adds a sample, dropping the oldest when full. */
  push(sample: CounterSample): void {
    this.samples.push(sample);
    if (this.samples.length > this.capacity) this.samples.shift();
  }

  get length(): number {
    return this.samples.length;
  }

  /** One counter of every sample, oldest first. */
  series(key: keyof CounterSample): number[] {
    return this.samples.map((sample) => sample[key]);
  }
}
