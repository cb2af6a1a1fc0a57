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
import { NONE, PageLists } from './page-lists.js';
import type { ReclaimCounters, ReclaimPolicy } from './policy.js';

const QUEUE = 0;

export class FifoPolicy implements ReclaimPolicy {
  readonly name = 'fifo';
  readonly activeSize = 0;
  readonly counters: ReclaimCounters = { scanned: 0, activated: 0, deactivated: 0 };
  private readonly queue: PageLists;

  /** Tracks pages `0 <= page < universe`. */
  constructor(universe: number) {
    this.queue = new PageLists(universe, 1);
  }

  get size(): number {
    return this.queue.length(QUEUE);
  }

  add(page: number): void {
    this.queue.checkUnlisted(page);
    this.queue.pushHead(QUEUE, page);
  }

  remove(page: number): void {
    if (this.has(page)) this.queue.unlink(page);
  }

  has(page: number): boolean {
    return page >= 0 && page < this.queue.universe && this.queue.listOf(page) !== NONE;
  }

  selectVictim(_referenced: (page: number) => boolean): number {
    const victim = this.queue.tail(QUEUE);
    if (victim === NONE) return NONE;
    this.counters.scanned++;
    this.queue.unlink(victim);
    return victim;
  }
}
