/**
 * Linux's two-list LRU for anonymous pages, as `mm/vmscan.c` ages it (without MGLRU).
 *
 * ```
 *            fault (lru_cache_add: new anon pages start inactive since 5.9)
 *              │
 *              ▼            referenced twice (PG_referenced + a PTE reference): activate
 *   inactive: head ⇄ … ⇄ tail ───────────────────────────────────────────────┐
 *              ▲            │ referenced once: set PG_referenced, back to head │
 *              │            │ not referenced: evict (the victim)               │
 *              │            ▼                                                 ▼
 *              │                                       active: head ⇄ … ⇄ tail
 *              └──────── deactivate (clearing the Accessed bits) ────────────┘
 *                        while the inactive list is low
 * ```
 *
 * - A new anonymous page goes to the head of the inactive list (commit b518154e59aa,
 *   "mm/vmscan: protect the workingset on anonymous LRU", 5.9; before it, anon pages started
 *   active).
 * - `shrink_inactive_list` takes pages from the inactive tail; `folio_check_references` asks
 *   the PTEs (`folio_referenced`, test-and-clear of the Accessed bits) and the folio's own
 *   `PG_referenced`. A mapped page "needs to be looked at twice": referenced with
 *   `PG_referenced` already set → activate (`pgactivate`); referenced for the first time → set
 *   `PG_referenced` and keep it, back at the inactive head; not referenced → reclaim (and
 *   `PG_referenced` is cleared on the way).
 * - `shrink_active_list` refills the inactive list from the active tail when `inactive_is_low`:
 *   `inactive * inactive_ratio < active`, with `inactive_ratio = int_sqrt(10 * GiB)` of the
 *   lists' size (1 below 1 GiB). An anonymous page is deactivated whether or not it was
 *   referenced (only executable file pages get another trip on the active list), but asking
 *   clears its Accessed bits (`pgdeactivate`). `PG_referenced` survives deactivation, so a
 *   deactivated page used again comes back at its next inactive scan.
 *
 * Linux scans in batches of SWAP_CLUSTER_MAX sized by the reclaim priority; here reclaim takes
 * one victim at a time and refills one page at a time until the inactive list is no longer
 * low, which is the balance those batches aim at.
 */
import { GiB, PAGE_SIZE } from '../hw/constants.js';
import { ACTIVE_LIST, ENTRY_LIST, ListReclaimPolicy } from './list-reclaim-policy.js';
import { NONE } from './page-lists.js';
import type { ReclaimPolicy } from './policy.js';

/** New anonymous pages enter the inactive list. */
const INACTIVE = ENTRY_LIST;
const ACTIVE = ACTIVE_LIST;
/** Pages in a GiB, for `inactive_ratio`. */
const PAGES_PER_GIB = GiB / PAGE_SIZE;

/** What `folio_check_references` decides for a page at the inactive tail. */
enum References {
  Reclaim,
  Keep,
  Activate,
}

export class LinuxPolicy extends ListReclaimPolicy implements ReclaimPolicy {
  readonly name = 'linux';
  /** By index: INACTIVE, ACTIVE. */
  readonly listNames = ['inactive', 'active'] as const;
  /** `PG_referenced` of each page: a set Accessed bit seen on a previous scan. */
  private readonly pgReferenced: Uint8Array;

  /** Tracks pages `0 <= page < universe`. */
  constructor(universe: number) {
    super(universe, 2);
    this.pgReferenced = new Uint8Array(universe);
  }

  override add(page: number): void {
    super.add(page);
    this.pgReferenced[page] = 0;
  }

  selectVictim(referenced: (page: number) => boolean): number {
    for (;;) {
      if (this.inactiveIsLow()) this.refillInactive(referenced);
      const page = this.lists.tail(INACTIVE);
      if (page === NONE) return NONE;
      this.counters.scanned++;
      const verdict = this.checkReferences(page, referenced);
      if (verdict === References.Reclaim) {
        this.lists.unlink(page);
        return page;
      }
      if (verdict === References.Activate) this.counters.activated++;
      this.lists.moveToHead(verdict === References.Activate ? ACTIVE : INACTIVE, page);
    }
  }

  /** `inactive_is_low`: the inactive list is short of `1 / inactive_ratio` of the active. */
  private inactiveIsLow(): boolean {
    const inactive = this.lists.length(INACTIVE);
    const active = this.lists.length(ACTIVE);
    const gib = Math.floor((inactive + active) / PAGES_PER_GIB);
    const inactiveRatio = gib > 0 ? Math.floor(Math.sqrt(10 * gib)) : 1;
    return inactive * inactiveRatio < active;
  }

  /** `shrink_active_list` for anonymous pages: deactivate from the active tail. */
  private refillInactive(referenced: (page: number) => boolean): void {
    do {
      const page = this.lists.tail(ACTIVE);
      referenced(page);
      this.counters.deactivated++;
      this.lists.moveToHead(INACTIVE, page);
    } while (this.inactiveIsLow());
  }

  /** `folio_check_references`: a mapped page must be seen referenced on two scans. */
  private checkReferences(page: number, referenced: (page: number) => boolean): References {
    const referencedPtes = referenced(page);
    const referencedFolio = this.pgReferenced[page] === 1;
    this.pgReferenced[page] = 0;
    if (!referencedPtes) return References.Reclaim;
    this.pgReferenced[page] = 1;
    return referencedFolio ? References.Activate : References.Keep;
  }
}
