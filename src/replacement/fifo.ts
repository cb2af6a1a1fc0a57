/**
 * FIFO: evict the page that came in first, however much it is used.
 *
 * ```
 *   add ──► head ⇄ … ⇄ tail ──► victim
 * ```
 *
 * One queue: a page joins at the head when it becomes resident and leaves from the tail. The
 * referenced bit is never asked for, so a hot page is evicted as readily as a cold one — and
 * more frames can mean more misses (Belady's anomaly), because the queue order at `n + 1`
 * frames is not a superset of the order at `n`.
 */
import { ENTRY_LIST, ListReclaimPolicy } from './list-reclaim-policy.js';
import { NONE } from './page-lists.js';
import type { ReclaimPolicy } from './policy.js';

export class FifoPolicy extends ListReclaimPolicy implements ReclaimPolicy {
  readonly name = 'fifo';
  readonly listNames = ['fifo'] as const;
  selectVictim(_referenced: (page: number) => boolean): number {
    const victim = this.lists.tail(ENTRY_LIST);
    if (victim === NONE) return NONE;
    this.counters.scanned++;
    this.lists.unlink(victim);
    return victim;
  }
}
