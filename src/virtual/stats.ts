/** Event counters of the virtual-memory layer, for /proc/vmstat and /proc/PID/status. */
export class VmEvents {
  /** Every page fault the handler saw (`pgfault`). */
  pgfault = 0;
  /** Faults that read a page back from swap (`pgmajfault`; there is no page cache). */
  pgmajfault = 0;
  /** Faults resolved by mapping a fresh zeroed frame. */
  demandZero = 0;
  /** Faults resolved by breaking copy-on-write sharing (copying, or reusing in place). */
  cowFaults = 0;
  /** COW faults that could reuse the frame in place because no one else held it. */
  cowReuses = 0;
  /** Faults that grew a stack downwards. */
  stackGrowths = 0;
  /** Faults that ended in SIGSEGV. */
  segvs = 0;
  /** Single-page TLB invalidations (`invlpg`) issued by the kernel. */
  tlbSinglePageFlushes = 0;
  /** Full (CR3 reload) TLB flushes issued by the kernel. */
  tlbFullFlushes = 0;
  /** TLB-shootdown IPIs sent to other CPUs (Linux's `nr_tlb_remote_flush`). */
  tlbShootdownIpis = 0;
}

/** What the page-fault handler decided. */
export const FaultResult = {
  /** The access can be retried: a frame was mapped or a COW share was broken. */
  HANDLED: 0,
  /** No mapping at the address: SIGSEGV with si_code SEGV_MAPERR. */
  SEGV_MAPERR: 1,
  /** A mapping exists but forbids the access: SIGSEGV with si_code SEGV_ACCERR. */
  SEGV_ACCERR: 2,
  /** No frame was left to resolve it: the kernel reclaims or OOM-kills, then retries. */
  OUT_OF_MEMORY: 3,
} as const;
export type FaultResult = (typeof FaultResult)[keyof typeof FaultResult];
