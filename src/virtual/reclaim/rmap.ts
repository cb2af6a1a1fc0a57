/**
 * The reverse map: from a frame to the page-table entries that map it, so reclaim can test the
 * Accessed bit through every mapping and rewrite every entry when the page goes to swap.
 *
 * Like Linux's anon_vma, it stores almost nothing per mapping. Every address space belongs to
 * a fork family (created with the space, joined by each child it forks); a frame records its
 * family and the virtual address it was first mapped at. Fork copies entries at the same
 * address, so every entry that can map the frame is at that address in some family member:
 *
 * ```
 *  frame ──► family ──► [ parent, child, grandchild ]     each member's PTE at `va` is
 *        └─► va                                            looked up and kept if it maps
 *                                                          this frame (COW may have split it)
 * ```
 *
 * Mapping a fresh frame costs two typed-array stores and fork costs nothing per page; the
 * walk happens only under memory pressure. A frame moved to another address while others
 * still map it at the old one (mremap of a shared page) keeps that address as an extra one,
 * looked up in every member too: a child forked after the move maps it there as well.
 */
import { PAGE_SIZE } from '../../hw/constants.js';
import { entryAddress, PTE_P } from '../../hw/paging.js';
import type { AddressSpace } from '../address-space.js';
import { PTE_PROT_NONE } from '../swap/swap-entry.js';

/** The address spaces descended by fork from one another (Linux's anon_vma root). */
export class ForkFamily {
  readonly members: AddressSpace[] = [];
  constructor(readonly id: number) {}
}

/** Where one mapping of a frame lives: reused by {@link ReverseMap.collect}, never allocated per call. */
export class Mappings {
  /** The frame these are the mappings of, or -1 once cleared. */
  frame = -1;
  count = 0;
  readonly spaces: AddressSpace[] = [];
  /** Physical address of each entry. */
  readonly entries: number[] = [];
  readonly vas: number[] = [];

  push(space: AddressSpace, at: number, va: number): void {
    this.spaces[this.count] = space;
    this.entries[this.count] = at;
    this.vas[this.count] = va;
    this.count++;
  }

  /** Forgets the spaces, so a finished walk keeps no address space alive. */
  clear(): void {
    for (let i = 0; i < this.count; i++) this.spaces[i] = undefined as unknown as AddressSpace;
    this.count = 0;
    this.frame = -1;
  }
}

export class ReverseMap {
  private readonly vaOf: Float64Array;
  /** Family id + 1 of each mapped frame, 0 for none. */
  private readonly familyOf: Int32Array;
  private readonly families: (ForkFamily | undefined)[] = [];
  private readonly freeIds: number[] = [];
  /** Addresses beyond `vaOf` where members of a frame's family may map it, by pfn. */
  private readonly extra = new Map<number, number[]>();

  constructor(spannedFrames: number) {
    this.vaOf = new Float64Array(spannedFrames);
    this.familyOf = new Int32Array(spannedFrames);
  }

  /** A family for a new (not forked) address space. */
  newFamily(space: AddressSpace): ForkFamily {
    const id = this.freeIds.pop() ?? this.families.length;
    const family = new ForkFamily(id);
    this.families[id] = family;
    family.members.push(space);
    return family;
  }

  /** `child` was forked from a member of `family`. */
  join(family: ForkFamily, child: AddressSpace): void {
    family.members.push(child);
  }

  /** `space` is gone; an empty family's id is reused. */
  leave(family: ForkFamily, space: AddressSpace): void {
    const members = family.members;
    members.splice(members.indexOf(space), 1);
    if (members.length > 0) return;
    this.families[family.id] = undefined;
    this.freeIds.push(family.id);
  }

  /** A fresh frame `pa` is now mapped at `va` by a member of `family`. */
  add(pa: number, family: ForkFamily, va: number): void {
    const pfn = pa / PAGE_SIZE;
    this.vaOf[pfn] = va;
    this.familyOf[pfn] = family.id + 1;
  }

  /** The frame `pa` is free: forget its mappings. */
  remove(pa: number): void {
    const pfn = pa / PAGE_SIZE;
    this.familyOf[pfn] = 0;
    if (this.extra.size > 0) this.extra.delete(pfn);
  }

  /**
   * `space`'s entry for frame `pa` moved from `oldVa` to `newVa` (mremap). When `space` is
   * the frame's only mapper the frame's address changes; otherwise the move is recorded on its
   * own. Call it after the entry has moved.
   */
  move(pa: number, space: AddressSpace, oldVa: number, newVa: number): void {
    const pfn = pa / PAGE_SIZE;
    if (this.vaOf[pfn] === oldVa && this.extra.get(pfn) === undefined) {
      if (this.mappedOnlyBy(pa, space, newVa)) {
        this.vaOf[pfn] = newVa;
        return;
      }
    }
    this.noteMapping(pa, newVa);
  }

  /** A member of the frame's family maps frame `pa` at `va` too (mremap, the swap cache). */
  noteMapping(pa: number, va: number): void {
    const pfn = pa / PAGE_SIZE;
    if (this.vaOf[pfn] === va) return;
    const list = this.extra.get(pfn);
    if (list === undefined) this.extra.set(pfn, [va]);
    else if (!list.includes(va)) list.push(va);
  }

  /** Fills `out` with every entry that maps frame `pa` (present or PROT_NONE-held). */
  collect(pa: number, out: Mappings): void {
    out.clear();
    out.frame = pa;
    const pfn = pa / PAGE_SIZE;
    const family = this.families[this.familyOf[pfn]! - 1];
    if (family === undefined) return;
    const va = this.vaOf[pfn]!;
    for (const space of family.members) this.visit(space, va, pa, out);
    const extras = this.extra.get(pfn);
    if (extras === undefined) return;
    for (const extra of extras)
      for (const space of family.members) this.visit(space, extra, pa, out);
  }

  private visit(space: AddressSpace, va: number, pa: number, out: Mappings): void {
    const at = space.tables.entry(va, 1, false, true);
    if (at < 0) return;
    const low = space.tables.low(at);
    if ((low & (PTE_P | PTE_PROT_NONE)) === 0) return;
    if (entryAddress(low, space.tables.high(at)) !== pa) return;
    for (let i = 0; i < out.count; i++) if (out.entries[i] === at) return;
    out.push(space, at, va);
  }

  /** True when the only entry mapping `pa` is `space`'s at `va`. */
  private mappedOnlyBy(pa: number, space: AddressSpace, va: number): boolean {
    const probe = new Mappings();
    const pfn = pa / PAGE_SIZE;
    const family = this.families[this.familyOf[pfn]! - 1];
    if (family === undefined) return false;
    for (const member of family.members) this.visit(member, this.vaOf[pfn]!, pa, probe);
    this.visit(space, va, pa, probe);
    return probe.count === 1;
  }
}
