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
 * page enters at the head, just behind the hand, with whatever referenced bit its owner gives it
 * (the lab's clears it on a miss, as in the textbook CLOCK). The sweep ends at the latest after
 * one full turn, since every page it passes has had its bit cleared.
 */
import { NONE, PageLists } from './page-lists.js';
import type { ReclaimCounters, ReclaimPolicy } from './policy.js';

const CIRCLE = 0;

export class ClockPolicy implements ReclaimPolicy {
  readonly name = 'clock';
  readonly activeSize = 0;
  readonly counters: ReclaimCounters = { scanned: 0, activated: 0, deactivated: 0 };
  private readonly circle: PageLists;

  /** Tracks pages `0 <= page < universe`. */
  constructor(universe: number) {
    this.circle = new PageLists(universe, 1);
  }

  get size(): number {
    return this.circle.length(CIRCLE);
  }

  add(page: number): void {
    this.circle.checkUnlisted(page);
    this.circle.pushHead(CIRCLE, page);
  }

  remove(page: number): void {
    if (this.has(page)) this.circle.unlink(page);
  }

  has(page: number): boolean {
    return page >= 0 && page < this.circle.universe && this.circle.listOf(page) !== NONE;
  }

  selectVictim(referenced: (page: number) => boolean): number {
    for (;;) {
      const page = this.circle.tail(CIRCLE);
      if (page === NONE) return NONE;
      this.counters.scanned++;
      if (!referenced(page)) {
        this.circle.unlink(page);
        return page;
      }
      this.counters.activated++;
      this.circle.moveToHead(CIRCLE, page);
    }
  }
}
