/**
 * What the kernel's reclaim policies share: their pages live on {@link PageLists}, a page
 * enters at the head of list 0 when it becomes resident, and leaves when it is removed or
 * chosen as the victim. Each policy adds only how it chooses (`selectVictim`).
 */
import { PageLists } from './page-lists.js';
import type { ReclaimCounters } from './policy.js';

/** The list new pages enter (FIFO's queue, CLOCK's circle, Linux's inactive list). */
export const ENTRY_LIST = 0;
/** Linux's active list; a policy with one list has none. */
export const ACTIVE_LIST = 1;

export abstract class ListReclaimPolicy {
  readonly counters: ReclaimCounters = { scanned: 0, activated: 0, deactivated: 0 };
  protected readonly lists: PageLists;

  /** Tracks pages `0 <= page < universe` on `listCount` lists. */
  constructor(
    universe: number,
    private readonly listCount = 1,
  ) {
    this.lists = new PageLists(universe, listCount);
  }

  /** Pages on all the lists. */
  get size(): number {
    return this.lists.total;
  }

  /** `page` became resident: to the head of the entry list. */
  add(page: number): void {
    this.lists.checkUnlisted(page);
    this.lists.pushHead(ENTRY_LIST, page);
  }

  remove(page: number): void {
    if (this.lists.holds(page)) this.lists.unlink(page);
  }

  has(page: number): boolean {
    return this.lists.holds(page);
  }

  /** The pages of list `list` (an index into `listNames`), newest first. */
  forEachOnList(list: number, visit: (page: number) => void): void {
    this.lists.forEach(list, visit);
  }

  /** Pages on the active list (none, for a policy with one list). */
  get activeSize(): number {
    return this.listCount > ACTIVE_LIST ? this.lists.length(ACTIVE_LIST) : 0;
  }

  /** True while `page` is on the active list (never, for a policy with one list). */
  isActive(page: number): boolean {
    return this.lists.holds(page) && this.lists.listOf(page) === ACTIVE_LIST;
  }
}
