/**
 * Linux's `mmu_gather`: the one path by which a change to an address space's PTEs reaches
 * every TLB. A change that can leave a stale translation anywhere (a cleared leaf, rights
 * taken away, a new frame behind a page) queues its page here; frames and page-table pages the
 * change freed wait here too, and go back to the allocator only after the flush, so no CPU can
 * reach a frame through an old translation once someone else owns it.
 *
 * ```
 *  munmap(A, 3 pages) on CPU 0          CPU 1 (runs a thread of A)
 *   clear PTE a ── removePage(a, f1, …)
 *   clear PTE b ── removePage(b, f2, …)
 *   clear PTE c ── removePage(c, f3, …), removeTable(pt)
 *   finish() ─┬─ invlpg a, b, c (≤ 33 pages; else a CR3 reload)
 *             ├─ IPI ─────────────────► invlpg a, b, c; TLB: row +1
 *             │◄──────────────── done ──┘
 *             └─ unmap f1 f2 f3, free pt (only now may anyone get them)
 * ```
 *
 * Each address space owns one gather, reused by every operation on it (no allocation per
 * call); an operation that queued something ends with {@link finish}.
 */

import { pageDown } from '../../hw/address.js';
import type { AddressSpace } from '../address-space.js';
import { TLB_SINGLE_PAGE_FLUSH_CEILING } from './cpus.js';

export class MmuGather {
  /** Pages whose translations changed, while they are few enough for one `invlpg` each. */
  private readonly pages: number[] = [];
  /** More pages changed than the ceiling: flush everything instead. */
  private full = false;
  /** Frames to unmap (drop a leaf's reference) once the flush is done, and those leaves' low halves. */
  private readonly frames: number[] = [];
  private readonly lows: number[] = [];
  /** Page-table pages to free once the flush is done. */
  private readonly tables: number[] = [];

  constructor(private readonly space: AddressSpace) {}

  /** The translation of the page at `va` changed (`tlb_flush_pte_range`). */
  flushPage(va: number): void {
    if (this.full) return;
    if (this.pages.length === TLB_SINGLE_PAGE_FLUSH_CEILING) {
      this.full = true;
      empty(this.pages);
      return;
    }
    this.pages.push(pageDown(va));
  }

  /** Every translation of the space changed (`flush_tlb_mm`, as fork does). */
  flushAll(): void {
    this.full = true;
    empty(this.pages);
  }

  /**
   * The leaf of `va`, whose low half was `low`, no longer maps `frame`: flush it, then drop
   * the leaf's reference to the frame (`tlb_remove_page`; `low` tells reclaim if it was dirty).
   */
  removePage(va: number, frame: number, low: number): void {
    this.flushPage(va);
    this.frames.push(frame);
    this.lows.push(low);
  }

  /** Page table `table` was unlinked: free it after the flush (`tlb_remove_table`). */
  removeTable(table: number): void {
    this.tables.push(table);
  }

  /** True while changes wait for {@link finish}. */
  get pending(): boolean {
    return this.full || this.pages.length + this.frames.length + this.tables.length > 0;
  }

  /**
   * Completes the operation (`tlb_finish_mmu`): every CPU holding the space's tables flushes
   * what changed (an IPI for each other CPU), then the gathered frames and tables are freed.
   */
  finish(): void {
    if (!this.pending) return;
    const vm = this.space.vm;
    const freedTables = this.tables.length > 0;
    if (this.full || this.pages.length > 0 || freedTables) {
      // Freed tables with no page queued can only come with a full flush.
      const full = this.full || this.pages.length === 0;
      vm.cpus.flush(this.space, this.pages, full, freedTables);
    }
    for (let i = 0; i < this.frames.length; i++)
      this.space.unmapFrame(this.frames[i]!, this.lows[i]!);
    for (const table of this.tables) vm.frames.freePages(table, 0);
    empty(this.pages);
    empty(this.frames);
    empty(this.lows);
    empty(this.tables);
    this.full = false;
  }
}

/**
 * Empties `list` for reuse. Popping is inlined by the JIT; assigning `length` calls into the
 * runtime, which costs more than the few elements a gather usually holds.
 */
function empty(list: number[]): void {
  while (list.length > 0) list.pop();
}
