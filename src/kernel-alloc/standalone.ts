/**
 * What the slab allocator needs, without the virtual-memory layer: a {@link MemoryAccess} of the
 * kernel direct map over a {@link PhysicalMemory}, and a simple {@link KernelPageSource} handing
 * out pages of a flat physical range. For running the allocator alone: tests, benchmarks,
 * teaching.
 *
 * ```
 *  physical   0 ─────────── first ═══════ pages handed out ═══════ first + pageCount·4096
 *  kernel VA  DIRECT_MAP_BASE + physical  (0xffff888000000000 + pa)
 * ```
 */
import { InvalidArgumentError } from '../errors.js';
import { formatAddress } from '../hw/address.js';
import { PAGE_SIZE } from '../hw/constants.js';
import type { MemoryAccess } from '../hw/memory-access.js';
import type { PhysicalMemory } from '../hw/ram.js';
import { DIRECT_MAP_BASE } from '../virtual/layout.js';
import { type KernelPageSource, MAX_PAGE_ORDER, NO_PAGES } from './page-source.js';

const FREE_PAGE = -1;

/** The kernel direct map: kernel virtual address `DIRECT_MAP_BASE + pa` is physical `pa`. */
export class DirectMapMemory implements MemoryAccess {
  constructor(private readonly ram: PhysicalMemory) {}

  load8(address: number): number {
    return this.ram.load8(address - DIRECT_MAP_BASE);
  }
  load16(address: number): number {
    return this.ram.load16(address - DIRECT_MAP_BASE);
  }
  load32(address: number): number {
    return this.ram.load32(address - DIRECT_MAP_BASE);
  }
  store8(address: number, value: number): void {
    this.ram.store8(address - DIRECT_MAP_BASE, value);
  }
  store16(address: number, value: number): void {
    this.ram.store16(address - DIRECT_MAP_BASE, value);
  }
  store32(address: number, value: number): void {
    this.ram.store32(address - DIRECT_MAP_BASE, value);
  }
  readBytes(address: number, length: number): Uint8Array {
    return this.ram.readBytes(address - DIRECT_MAP_BASE, length);
  }
  writeBytes(address: number, bytes: Uint8Array): void {
    this.ram.writeBytes(address - DIRECT_MAP_BASE, bytes);
  }
  fill(address: number, length: number, byte: number): void {
    this.ram.fill(address - DIRECT_MAP_BASE, length, byte);
  }
}

/**
 * Hands out blocks of 2^order pages of `[first, first + pageCount·4096)` (physical), as direct-map
 * addresses: freed blocks are reused per order (a stack each), otherwise the range is carved
 * from the bottom. No splitting or merging: a stand-in for the buddy allocator, not one. When
 * none is left it runs its shrinker, if one is registered (the slab's `shrinkAll`), and tries
 * once more: its reclaim, as the virtual-memory layer's is for a machine's slab.
 */
export class FlatPageSource implements KernelPageSource {
  private readonly freeBlocks: number[][] = [];
  private shrinker: (() => number) | null = null;
  /** Order of the block starting at each page, FREE_PAGE where none starts. */
  private readonly blockOrder: Int8Array;
  private carved = 0;
  private allocated = 0;

  constructor(
    private readonly first: number,
    readonly pageCount: number,
  ) {
    this.blockOrder = new Int8Array(pageCount).fill(FREE_PAGE);
    for (let order = 0; order <= MAX_PAGE_ORDER; order++) this.freeBlocks.push([]);
  }

  /** Pages currently handed out. */
  get allocatedPages(): number {
    return this.allocated;
  }

  /** `shrinker` gives back pages (and returns how many) when none is left. */
  registerShrinker(shrinker: () => number): void {
    this.shrinker = shrinker;
  }

  allocKernelPages(order: number): number {
    if (!Number.isInteger(order) || order < 0 || order > MAX_PAGE_ORDER) {
      throw new InvalidArgumentError(`page order ${order} is not in 0..${MAX_PAGE_ORDER}`);
    }
    const address = this.takeBlock(order);
    if (address !== NO_PAGES || this.shrinker === null || this.shrinker() === 0) return address;
    return this.takeBlock(order);
  }

  /** A free block of `order` (a freed one, else carved), or NO_PAGES. */
  private takeBlock(order: number): number {
    let page = this.freeBlocks[order]!.pop();
    if (page === undefined) {
      if (this.carved + (1 << order) > this.pageCount) return NO_PAGES;
      page = this.carved;
      this.carved += 1 << order;
    }
    this.blockOrder[page] = order;
    this.allocated += 1 << order;
    return DIRECT_MAP_BASE + this.first + page * PAGE_SIZE;
  }

  freeKernelPages(address: number, order: number): void {
    const page = (address - DIRECT_MAP_BASE - this.first) / PAGE_SIZE;
    if (!Number.isInteger(page) || page < 0 || page >= this.pageCount) {
      throw new InvalidArgumentError(`${formatAddress(address)} is not a page of this source`);
    }
    if (this.blockOrder[page] !== order) {
      throw new InvalidArgumentError(
        `${formatAddress(address)} is not an allocated block of order ${order}`,
      );
    }
    this.blockOrder[page] = FREE_PAGE;
    this.freeBlocks[order]!.push(page);
    this.allocated -= 1 << order;
  }
}

/**
 * Kernel memory backed by one ArrayBuffer: physical `[0, bytes)` seen through the direct map, for
 * using the slab allocator as a plain allocator over a buffer (and for its benchmark). Faster
 * than {@link DirectMapMemory} over sparse RAM; an access outside the buffer throws a RangeError.
 */
export class FlatKernelMemory implements MemoryAccess {
  private readonly bytes: Uint8Array;
  private readonly view: DataView;
  private readonly words: Int32Array;

  /** @param size bytes of memory, a multiple of 4. */
  constructor(readonly size: number) {
    this.bytes = new Uint8Array(size);
    this.view = new DataView(this.bytes.buffer);
    this.words = new Int32Array(this.bytes.buffer, 0, size >> 2);
  }

  load8(address: number): number {
    return this.bytes[this.offset(address, 1)]!;
  }
  load16(address: number): number {
    return this.view.getUint16(this.offset(address, 2), true);
  }
  load32(address: number): number {
    const offset = address - DIRECT_MAP_BASE;
    if ((offset & 3) === 0 && offset >= 0 && offset < this.size)
      return this.words[offset >> 2]! >>> 0;
    return this.view.getUint32(this.offset(address, 4), true);
  }
  store8(address: number, value: number): void {
    this.bytes[this.offset(address, 1)] = value;
  }
  store16(address: number, value: number): void {
    this.view.setUint16(this.offset(address, 2), value, true);
  }
  store32(address: number, value: number): void {
    const offset = address - DIRECT_MAP_BASE;
    if ((offset & 3) === 0 && offset >= 0 && offset < this.size) {
      this.words[offset >> 2] = value;
      return;
    }
    this.view.setUint32(this.offset(address, 4), value, true);
  }
  readBytes(address: number, length: number): Uint8Array {
    const offset = this.offset(address, length);
    return this.bytes.slice(offset, offset + length);
  }
  writeBytes(address: number, bytes: Uint8Array): void {
    this.bytes.set(bytes, this.offset(address, bytes.length));
  }
  fill(address: number, length: number, byte: number): void {
    const offset = this.offset(address, length);
    this.bytes.fill(byte, offset, offset + length);
  }

  /** The buffer offset of `[address, address + length)`, which must lie inside the buffer. */
  private offset(address: number, length: number): number {
    const offset = address - DIRECT_MAP_BASE;
    if (!(offset >= 0 && length >= 0 && offset + length <= this.size)) {
      throw new RangeError(`${length}-byte access at ${formatAddress(address)} is outside memory`);
    }
    return offset;
  }
}
