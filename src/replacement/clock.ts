/**
 * CLOCK (second chance, Corbató 1968): FIFO that spares a page referenced since the hand last
 * passed it.
 *
 * ```
 *            head (newest) ⇄ … ⇄ tail ◄── the hand
 *              ▲                   │ referenced? clear the bit, move to the head (a second chance)
 *              └───────────────────┘ not referenced? evict it
 * ```
 *
 * The pages form a circle swept by a hand; here the circle is a list whose tail is under the
 * hand, so "advance the hand past a page" is "move the page from the tail to the head". A new
 * page enters at the head, just behind the hand (the hand then points at the frame after the one
 * just filled), its referenced bit set by the access that faulted it in. The sweep ends at the
 * latest after one full turn, since every page it passes has had its bit cleared.
 */
import { ENTRY_LIST, ListReclaimPolicy } from './list-reclaim-policy.js';
import { NONE } from './page-lists.js';
import type { ReclaimPolicy } from './policy.js';

/** The circle is the entry list: new pages join at its head, just behind the hand. */
const CIRCLE = ENTRY_LIST;

export class ClockPolicy extends ListReclaimPolicy implements ReclaimPolicy {
  readonly name = 'clock';
  readonly listNames = ['clock'] as const;
  selectVictim(referenced: (page: number) => boolean): number {
    for (;;) {
      const page = this.lists.tail(CIRCLE);
      if (page === NONE) return NONE;
      this.counters.scanned++;
      if (!referenced(page)) {
        this.lists.unlink(page);
        return page;
      }
      this.counters.activated++;
      this.lists.moveToHead(CIRCLE, page);
    }
  }
}
