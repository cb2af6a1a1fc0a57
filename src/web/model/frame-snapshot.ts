/**
 * A picture of every physical frame, taken between scheduler steps: one {@link FrameCode} per
 * frame, the owner of each user page and the order of each buddy block.
 *
 * ```
 *  codes      Uint8Array   one FrameCode per frame (what the frame map paints)
 *  owners     Int32Array   user pages: the pid mapping the frame, SHARED_OWNER if several;
 *                          user page tables: their process's pid; 0 otherwise
 *  blockOrder Int8Array    head of a buddy block, free or allocated: its order; -1 elsewhere
 *  lru        Uint8Array   user pages under reclaim: their {@link LruState} (swap machines)
 * ```
 *
 * Blocks come from the buddy allocator, owners from each process's page tables, and everything
 * else from the allocator's per-frame use, so the picture is what the layers hold.
 */
import { PAGE_SIZE } from '../../hw/constants.js';
import type { Machine } from '../../kernel/machine.js';
import { FrameUse } from '../../physical/constants.js';
import { codeOfUse, FrameCode, userCode } from './frame-colours.js';
import { forEachUserLeaf } from './user-leaves.js';

/** `owners` value of a frame mapped by more than one process (a copy-on-write share). */
export const SHARED_OWNER = -1;
/** `owners` value of a frame no process maps. */
export const NO_OWNER = 0;
/** `blockOrder` value of a frame that does not start a block (a tail, a hole, reserved). */
export const NOT_A_HEAD = -1;
/** Where reclaim keeps a user page (Linux's LRU lists, the unevictable list, the swap cache). */
export const LruState = {
  NONE: 0,
  INACTIVE: 1,
  ACTIVE: 2,
  UNEVICTABLE: 3,
  SWAP_CACHE: 4,
} as const;

/** Marks a frame of RAM not yet classified during a capture. */
const UNCLASSIFIED = 0xff;

/** Every frame of one machine, re-captured in place by {@link FrameSnapshot.capture}. */
export class FrameSnapshot {
  /** Frames described: every frame up to the top of RAM, holes included. */
  readonly frames: number;
  readonly codes: Uint8Array;
  readonly owners: Int32Array;
  readonly blockOrder: Int8Array;
  readonly lru: Uint8Array;

  constructor(frames: number) {
    this.frames = frames;
    this.codes = new Uint8Array(frames);
    this.owners = new Int32Array(frames);
    this.blockOrder = new Int8Array(frames).fill(NOT_A_HEAD);
    this.lru = new Uint8Array(frames);
  }

  /** The per-frame arrays, in one order (the timeline keeps each of them). */
  get arrays(): [Uint8Array, Int32Array, Int8Array, Uint8Array] {
    return [this.codes, this.owners, this.blockOrder, this.lru];
  }

  /** A snapshot sized for `machine` (every frame below its top of RAM). */
  static of(machine: Machine): FrameSnapshot {
    return new FrameSnapshot(machine.frames.spannedFrames);
  }

  /** Re-reads every frame of `machine`. */
  capture(machine: Machine): void {
    this.markInstalled(machine);
    this.markBlocks(machine);
    this.markOwners(machine);
    this.classifyRest(machine);
    this.markLru(machine);
  }

  /** Which reclaim list holds each user frame (nothing without swap: no reclaim runs). */
  private markLru(machine: Machine): void {
    this.lru.fill(LruState.NONE);
    const reclaim = machine.vm.reclaim;
    if (reclaim === undefined || reclaim === null) return;
    for (let pfn = 0; pfn < this.frames; pfn++) {
      if (this.codes[pfn]! < FrameCode.USER_SHARED) continue;
      const pa = pfn * PAGE_SIZE;
      if (reclaim.cache.slotOf(pa) !== 0) this.lru[pfn] = LruState.SWAP_CACHE;
      else if (reclaim.isUnevictable(pa)) this.lru[pfn] = LruState.UNEVICTABLE;
      else if (reclaim.policy.has(pfn)) {
        this.lru[pfn] = reclaim.policy.isActive(pfn) ? LruState.ACTIVE : LruState.INACTIVE;
      }
    }
  }

  private markInstalled(machine: Machine): void {
    this.codes.fill(FrameCode.HOLE);
    for (const range of machine.ram.ranges) {
      const first = Math.ceil(range.base / PAGE_SIZE);
      const end = Math.min(this.frames, Math.floor((range.base + range.length) / PAGE_SIZE));
      this.codes.fill(UNCLASSIFIED, first, end);
    }
  }

  /** Records every block's order at its head, and paints the free ones. */
  private markBlocks(machine: Machine): void {
    this.blockOrder.fill(NOT_A_HEAD);
    machine.frames.forEachBlock((pa, order, use) => {
      const pfn = pa / PAGE_SIZE;
      this.blockOrder[pfn] = order;
      if (use === FrameUse.FREE) this.codes.fill(FrameCode.FREE, pfn, pfn + (1 << order));
    });
  }

  /** Records which process maps each user frame, and whose each user page table is. */
  private markOwners(machine: Machine): void {
    this.owners.fill(NO_OWNER);
    for (const process of machine.processList) {
      const pid = process.pid;
      forEachUserLeaf(
        machine.ram,
        process,
        (_, frame, bytes) => this.own(frame / PAGE_SIZE, bytes / PAGE_SIZE, pid),
        (table) => this.own(table / PAGE_SIZE, 1, pid),
      );
    }
  }

  /** Marks `frames` frames from `pfn` as mapped by `pid` (shared if another pid maps them). */
  private own(pfn: number, frames: number, pid: number): void {
    const end = Math.min(this.frames, pfn + frames);
    for (let frame = pfn; frame < end; frame++) {
      const owner = this.owners[frame]!;
      this.owners[frame] = owner === NO_OWNER || owner === pid ? pid : SHARED_OWNER;
    }
  }

  /** Asks the allocator about each frame neither free nor a hole (indexOf skips runs natively). */
  private classifyRest(machine: Machine): void {
    const codes = this.codes;
    for (
      let pfn = codes.indexOf(UNCLASSIFIED);
      pfn >= 0;
      pfn = codes.indexOf(UNCLASSIFIED, pfn + 1)
    ) {
      const use = machine.frames.frameUse(pfn * PAGE_SIZE);
      codes[pfn] = use === FrameUse.USER ? this.userCodeOf(pfn) : codeOfUse(use);
    }
  }

  private userCodeOf(pfn: number): number {
    const owner = this.owners[pfn]!;
    return owner > 0 ? userCode(owner) : FrameCode.USER_SHARED;
  }

  /**
   * The block holding `pfn` as `[head, order]`, or undefined when the frame is in none (a hole,
   * reserved). A block of order k starts at `pfn` with its low k bits cleared, so at most 11
   * heads are tried.
   */
  blockOf(pfn: number, maxOrder: number): readonly [number, number] | undefined {
    for (let order = 0; order <= maxOrder; order++) {
      const head = pfn - (pfn % 2 ** order);
      if (this.blockOrder[head]! >= order) return [head, this.blockOrder[head]!];
    }
    return undefined;
  }
}
