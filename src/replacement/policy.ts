/**
 * Page replacement: which resident page leaves when memory is full.
 *
 * Two views of the same question, because hardware tells the kernel less than a trace tells
 * a simulator:
 *
 * ```
 *  the lab (a reference trace)              the kernel (reclaim over frames)
 *  ──────────────────────────               ─────────────────────────────────
 *  sees every reference                     sees only the Accessed bit, and only when it
 *                                           looks (test-and-clear through the reverse map)
 *  ReplacementPolicy.reference(page)        ReclaimPolicy.add / remove / selectVictim
 *    → hit or miss, evicting on a miss        selectVictim(referenced) asks the PTEs
 *  fifo lru clock opt arc linux             fifo clock linux (the ones a kernel can run)
 * ```
 *
 * A {@link ReclaimPolicy} is the kernel's kind: it never learns of a hit, it only asks, at
 * scan time, whether a page was referenced since it last asked. The lab runs those policies
 * unchanged by keeping one referenced bit per page and setting it on each reference, the
 * faulting one included (what the MMU does with the Accessed bit), so `fifo`, `clock` and `linux` in the lab are exactly the code
 * the kernel's reclaim uses. `lru`, `opt` and `arc` need every reference (or the future) and
 * exist only in the lab.
 *
 * Pages are dense integers `0 <= page < universe` (a frame number in the kernel, a renumbered
 * page in the lab), so policies keep their state in typed arrays indexed by page.
 */

/** The policies the kernel's reclaim can run: they need only a referenced bit. */
export const RECLAIM_POLICY_NAMES = ['linux', 'clock', 'fifo'] as const;
export type ReclaimPolicyName = (typeof RECLAIM_POLICY_NAMES)[number];

/**
 * What a reclaim policy did, for the kernel's vmstat (Linux's names in brackets). Counts only
 * grow.
 */
export interface ReclaimCounters {
  /** Pages looked at as eviction candidates (`pgscan_*`). */
  scanned: number;
  /** Pages spared because they were referenced: moved to the active list by `linux`
   * (`pgactivate`), given a second chance by `clock`. */
  activated: number;
  /** Pages moved from the active to the inactive list by `linux` (`pgdeactivate`). */
  deactivated: number;
}

/** A replacement policy the kernel can run over resident frames. */
export interface ReclaimPolicy {
  readonly name: ReclaimPolicyName;
  /** Pages currently tracked. */
  readonly size: number;
  /** Tracked pages the policy counts as active (meminfo `Active(anon)`; the rest are
   * `Inactive(anon)`). Only `linux` has an active list; the others report 0. */
  readonly activeSize: number;
  readonly counters: Readonly<ReclaimCounters>;
  /** `page` became resident (a fault mapped it). It must not be tracked already. */
  add(page: number): void;
  /** `page` left memory for another reason (unmapped, freed); a no-op if not tracked. */
  remove(page: number): void;
  /** True while `page` is tracked. */
  has(page: number): boolean;
  /** The names of the policy's lists (Linux: `inactive`, `active`), for listings. */
  readonly listNames: readonly string[];
  /** Calls `visit` for every page on list `list` (an index into `listNames`), newest first. */
  forEachOnList(list: number, visit: (page: number) => void): void;
  /** True while `page` is on the active list (never, for a policy without one). */
  isActive(page: number): boolean;
  /**
   * Chooses the page to evict and stops tracking it, or returns -1 when nothing is tracked.
   * `referenced(page)` tests and clears the page's referenced bit (the Accessed bits of every
   * PTE that maps it); the policy decides what a set bit buys (a second chance, activation).
   */
  selectVictim(referenced: (page: number) => boolean): number;
}

/** The lab's policies: every reference is seen. */
export const POLICY_NAMES = ['fifo', 'lru', 'clock', 'opt', 'arc', 'linux'] as const;
export type PolicyName = (typeof POLICY_NAMES)[number];

/** A policy replaying a reference trace with `capacity` frames. */
export interface ReplacementPolicy {
  readonly name: PolicyName;
  readonly capacity: number;
  /** A reference to `page`: true on a hit; on a miss the page is brought in, evicting first
   * when all frames are in use. */
  reference(page: number): boolean;
}
