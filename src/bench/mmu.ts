/**
 * The cost of address translation: a 32-bit load through the MMU that hits the TLB, against a
 * raw `Uint32Array` load, measured in the same run with the same loop.
 *
 * The MMU maps one user page (a 4 KiB leaf reached through a PML4, PDPT, PD and PT built by hand)
 * and the CPU runs at CPL 3, the case of a user program's loads. Isomorphic: no Node APIs.
 */
import { PAGE_SIZE } from '../hw/constants.js';
import { Cpu } from '../hw/cpu.js';
import { Mmu } from '../hw/mmu.js';
import { entryLow, PTE_P, PTE_RW, PTE_US, TOP_LEVEL, tableIndex } from '../hw/paging.js';
import { PhysicalMemory } from '../hw/ram.js';
import { type BenchRow, OUR_IMPLEMENTATION } from './workloads.js';

/** Loads per timed run. */
const LOADS = 10_000_000;
const REPS = 7;
const WORDS_PER_PAGE = PAGE_SIZE / 4;
const WORD_MASK = WORDS_PER_PAGE - 1;
/** A typical user heap address. */
const USER_PAGE = 0x0000_5555_5555_4000;
const BENCH_RAM = 1024 * 1024;
/** Page tables at 64 KiB, 68 KiB, …; the data page after them. */
const FIRST_TABLE = 0x10000;

/** A machine with `va` mapped read/write for user mode; returns the MMU at CPL 3. */
function userMachine(va: number): Mmu {
  const ram = PhysicalMemory.flat(BENCH_RAM);
  const cpu = new Cpu();
  const flags = PTE_P | PTE_RW | PTE_US;
  let table = FIRST_TABLE;
  cpu.cr3 = table;
  for (let level = TOP_LEVEL; level >= 1; level--) {
    const next = table + PAGE_SIZE;
    ram.store32(table + tableIndex(va, level as 1 | 2 | 3 | 4) * 8, entryLow(next, flags));
    table = next;
  }
  for (let i = 0; i < WORDS_PER_PAGE; i++) ram.store32(table + i * 4, i);
  cpu.cpl = 3;
  return new Mmu(ram, cpu);
}

function translatedLoop(mmu: Mmu): number {
  let sum = 0;
  for (let i = 0; i < LOADS; i++) sum = (sum + mmu.load32(USER_PAGE + ((i & WORD_MASK) << 2))) | 0;
  return sum;
}

function rawLoop(words: Uint32Array): number {
  let sum = 0;
  for (let i = 0; i < LOADS; i++) sum = (sum + words[i & WORD_MASK]!) | 0;
  return sum;
}

/** ns per load of one timed run; the checksum is compared so the loop cannot be dropped. */
function timeRun(run: () => number, expected: number, now: () => number): number {
  const start = now();
  const sum = run();
  const elapsed = now() - start;
  if (sum !== expected) throw new Error(`benchmark checksum ${sum} !== ${expected}`);
  return (elapsed * 1e6) / LOADS;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function row(implementation: string, nsPerOp: number): BenchRow {
  return { workload: 'MMU-load32', implementation, nsPerOp, opsPerSec: 1e9 / nsPerOp };
}

/**
 * Times a TLB-hitting translated `load32` (`wallos-memory`) and a raw `Uint32Array` load
 * (`Uint32Array`) in the same run. `now()` is in milliseconds.
 */
export function benchTranslatedLoad(now: () => number): BenchRow[] {
  const mmu = userMachine(USER_PAGE);
  const words = new Uint32Array(WORDS_PER_PAGE);
  for (let i = 0; i < WORDS_PER_PAGE; i++) words[i] = i;
  const translated = () => translatedLoop(mmu);
  const raw = () => rawLoop(words);
  const expected = raw();
  if (translated() !== expected) throw new Error('the MMU read other data than the raw array');
  // Alternate the two so machine noise hits both alike; report each one's median.
  const translatedTimes: number[] = [];
  const rawTimes: number[] = [];
  for (let r = 0; r < REPS; r++) {
    translatedTimes.push(timeRun(translated, expected, now));
    rawTimes.push(timeRun(raw, expected, now));
  }
  return [row(OUR_IMPLEMENTATION, median(translatedTimes)), row('Uint32Array', median(rawTimes))];
}
