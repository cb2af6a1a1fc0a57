/**
 * The OOM killer (Linux's mm/oom_kill.c): when neither reclaim nor the shrinkers can free a
 * page, one process dies so the others can go on.
 *
 * ```
 *  badness(p) = rss + swap entries + page-table pages          (pages; LONG_MIN if adj = -1000)
 *             + oom_score_adj * (totalpages / 1000)             totalpages = RAM + swap
 *  victim     = the live process with the highest badness
 *  oom_score  = badness * 1000 / totalpages, clamped to 0..1000  /proc/PID/oom_score
 * ```
 *
 * oom_score is on the per-mille scale of totalpages that proc(5) documents ("0 (never kill)
 * to 1000 (always kill)"; Linux 2.6.36 to 5.8 printed exactly this). Linux 5.9 and later
 * print `(1000 + badness * 1000 / totalpages) * 2 / 3` instead, which orders processes the
 * same way.
 *
 * The victim gets SIGKILL, its memory and swap are freed at once (the OOM reaper's job), and
 * the kernel log gets Linux's "Out of memory: Killed process …" line. From a user fault the
 * victim exits at once; from within a kernel allocation its user pages are reaped
 * ({@link reapAddressSpace}) and it exits at the next return to user mode (machine.ts).
 */
import { pagesToKb } from '../hw/size.js';
import type { AddressSpace } from '../virtual/address-space.js';
import type { Process } from './process.js';

/** oom_score_adj bounds (Linux's OOM_SCORE_ADJ_MIN / MAX); -1000 means never kill. */
export const OOM_SCORE_ADJ_MIN = -1000;
export const OOM_SCORE_ADJ_MAX = 1000;

/** oom_score_adj and oom_score are per mille: of all pages, 1000 is every one. */
const PER_MILLE = 1000;

/** Badness of a process that must never be chosen (Linux returns LONG_MIN). */
export const UNKILLABLE = Number.NEGATIVE_INFINITY;

/** Linux's oom_badness: the pages killing `process` would free, biased by its oom_score_adj. */
export function oomBadness(process: Process, totalPages: number): number {
  // A victim already reaped is not chosen again (Linux's MMF_OOM_SKIP).
  if (process.ended || process.oomVictim || process.oomScoreAdj === OOM_SCORE_ADJ_MIN)
    return UNKILLABLE;
  const space = process.space;
  const points = space.rss + space.swapEntries + space.tables.tablePages;
  return points + process.oomScoreAdj * Math.floor(totalPages / PER_MILLE);
}

/** `/proc/PID/oom_score`: the badness as a share of all pages, per mille (0..1000). */
export function oomScore(process: Process, totalPages: number): number {
  const badness = oomBadness(process, totalPages);
  if (badness === UNKILLABLE) return 0;
  return Math.min(PER_MILLE, Math.max(0, Math.trunc((badness * PER_MILLE) / totalPages)));
}

/** The process with the highest badness among `candidates`, or undefined if none may die. */
export function selectOomVictim(
  candidates: readonly Process[],
  totalPages: number,
): Process | undefined {
  let victim: Process | undefined;
  let worst = UNKILLABLE;
  for (const process of candidates) {
    const badness = oomBadness(process, totalPages);
    if (badness === UNKILLABLE || (victim !== undefined && badness <= worst)) continue;
    victim = process;
    worst = badness;
  }
  return victim;
}

/**
 * The OOM reaper (Linux's __oom_reap_task_mm): frees every page of `space` now, its areas and
 * page tables left for the victim's exit. Safe from within a kernel allocation of another
 * process: it changes only the victim's own tables, and frees no slab object and no kernel
 * page table.
 */
export function reapAddressSpace(space: AddressSpace): void {
  for (const vma of space.vmas.items) space.releasePages(vma.start, vma.end);
}

/** How the OOM killer's line in the kernel log starts. */
export const OOM_KILL_LINE = 'Out of memory: Killed process';

/** Linux's line for the kernel log, sizes in kB, as mm/oom_kill.c's __oom_kill_process prints it. */
export function oomKillMessage(process: Process): string {
  const space = process.space;
  return (
    `${OOM_KILL_LINE} ${process.pid} (${process.comm}) ` +
    `total-vm:${space.mappedBytes / 1024}kB, anon-rss:${pagesToKb(space.rss)}kB, file-rss:0kB, ` +
    `shmem-rss:0kB, UID:0 pgtables:${pagesToKb(space.tables.tablePages)}kB ` +
    `oom_score_adj:${process.oomScoreAdj}`
  );
}
