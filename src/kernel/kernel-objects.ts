/**
 * The kernel's own objects, allocated from named slab caches so that kernel memory use is real
 * and shows in /proc/slabinfo. Each record holds its fields in simulated kernel memory:
 *
 * ```
 *  task_struct (256 B)            mm_struct (128 B)              vm_area_struct (64 B)
 *  0   pid          u32           0   pgd (PML4 pa)   u64        0   vm_start   u64
 *  4   ppid         u32           8   start_brk       u64        8   vm_end     u64
 *  8   state        u32           16  brk             u64        16  prot       u32
 *  12  exit status  u32           24  map_count       u32        20  flags      u32
 *  16  mm           u64 (ptr)     28  rss (pages)     u32
 *  24  stack        u64 (ptr)
 *  32  comm[16]     name
 * ```
 */
import type { MemoryAccess } from '../hw/memory-access.js';
import type { PhysicalMemory } from '../hw/ram.js';
import type { SlabAllocator, SlabCache } from '../kernel-alloc/index.js';
import type { AddressSpace } from '../virtual/address-space.js';
import { directMapToPhysical } from '../virtual/layout.js';
import type { RecordStore } from '../virtual/virtual-memory.js';
import type { Vma } from '../virtual/vma.js';

export const TASK_STRUCT_SIZE = 256;
export const MM_STRUCT_SIZE = 128;
export const VMA_STRUCT_SIZE = 64;
/** Each process's kernel stack, from vmalloc (Linux's THREAD_SIZE on x86-64). */
export const KERNEL_STACK_SIZE = 16 * 1024;

const TASK_PID = 0;
const TASK_PPID = 4;
const TASK_STATE = 8;
const TASK_EXIT = 12;
const TASK_MM = 16;
const TASK_STACK = 24;
const TASK_COMM = 32;
/** Bytes of a task's name (`comm`), its NUL included: Linux's TASK_COMM_LEN. */
export const TASK_COMM_LENGTH = 16;

const MM_PGD = 0;
const MM_START_BRK = 8;
const MM_BRK = 16;
const MM_MAP_COUNT = 24;
const MM_RSS = 28;

/** The fields of an mm_struct that the kernel keeps (at each system call's end). */
export interface MmFields {
  pgd: number;
  startBrk: number;
  brk: number;
  mapCount: number;
  rss: number;
}

/**
 * What `space`'s mm_struct should hold, in `into` (a fresh object by default: the system call's
 * path passes one it keeps, so a call allocates nothing).
 */
export function mmFieldsOf(space: AddressSpace, into: MmFields = unwrittenMm()): MmFields {
  into.pgd = space.tables.root;
  into.startBrk = space.brkStart;
  into.brk = space.brk;
  into.mapCount = space.vmas.items.length;
  into.rss = space.rss;
  return into;
}

/** What an mm_struct not yet written holds, as far as {@link KernelObjects.writeMm} knows. */
export function unwrittenMm(): MmFields {
  return {
    pgd: Number.NaN,
    startBrk: Number.NaN,
    brk: Number.NaN,
    mapCount: Number.NaN,
    rss: Number.NaN,
  };
}

const VMA_START = 0;
const VMA_END = 8;
const VMA_PROT = 16;
const VMA_FLAGS = 20;
const VMA_SHARED_FLAG = 1;

const TWO_POW_32 = 2 ** 32;

/**
 * Stores a 64-bit value (a sign-extended kernel pointer or a non-negative integer). The low
 * half is the value modulo 2^32, which `>>> 0` (ToUint32) computes exactly for any integer
 * below 2^53 in magnitude, negative ones included, without a floating-point remainder.
 */
export function store64(memory: MemoryAccess, address: number, value: number): void {
  memory.store32(address, value >>> 0);
  memory.store32(address + 4, Math.floor(value / TWO_POW_32) >>> 0);
}

/** The flags word of a vm_area_struct: shared, and the lock bits. */
function vmaFlags(vma: Vma): number {
  return (vma.shared ? VMA_SHARED_FLAG : 0) | vma.lockFlags;
}

/** Task states as a u32 in task_struct. */
export const TASK_STATE_CODES = {
  runnable: 0,
  running: 0,
  waiting: 1,
  zombie: 16,
  reaped: 32,
} as const;

export class KernelObjects implements RecordStore {
  readonly tasks: SlabCache;
  readonly mms: SlabCache;
  readonly vmas: SlabCache;

  constructor(
    slab: SlabAllocator,
    private readonly memory: MemoryAccess,
  ) {
    this.tasks = slab.createCache('task_struct', TASK_STRUCT_SIZE, 64);
    this.mms = slab.createCache('mm_struct', MM_STRUCT_SIZE, 64);
    this.vmas = slab.createCache('vm_area_struct', VMA_STRUCT_SIZE, 8);
  }

  // RecordStore: VMA records for the virtual-memory layer.
  alloc(): number {
    return this.vmas.alloc();
  }

  free(address: number): void {
    this.vmas.free(address);
  }

  write(address: number, vma: Vma): void {
    this.writeBounds(address, vma);
    this.memory.store32(address + VMA_PROT, vma.prot);
    this.memory.store32(address + VMA_FLAGS, vmaFlags(vma));
  }

  writeBounds(address: number, vma: Vma): void {
    store64(this.memory, address + VMA_START, vma.start);
    store64(this.memory, address + VMA_END, vma.end);
  }

  /**
   * For the checker: whether `vma`'s record holds its fields, read from `ram` at the record's
   * physical address (through no TLB, so checking changes nothing).
   */
  holds(ram: PhysicalMemory, vma: Vma): boolean {
    const at = directMapToPhysical(vma.record);
    return (
      ram.load64(at + VMA_START) === vma.start &&
      ram.load64(at + VMA_END) === vma.end &&
      ram.load32(at + VMA_PROT) === vma.prot &&
      ram.load32(at + VMA_FLAGS) === vmaFlags(vma)
    );
  }

  /**
   * For the checker: whether the mm_struct at `address` holds `fields`, rss aside (a snapshot
   * taken at the last system call, which faults have moved since), read from `ram` through no
   * TLB.
   */
  mmHolds(ram: PhysicalMemory, address: number, fields: MmFields): boolean {
    const at = directMapToPhysical(address);
    return (
      ram.load64(at + MM_PGD) === fields.pgd &&
      ram.load64(at + MM_START_BRK) === fields.startBrk &&
      ram.load64(at + MM_BRK) === fields.brk &&
      ram.load32(at + MM_MAP_COUNT) === fields.mapCount
    );
  }

  writeTask(
    address: number,
    fields: {
      pid: number;
      ppid: number;
      state: number;
      exit: number;
      mm: number;
      stack: number;
      name: string;
    },
  ): void {
    const m = this.memory;
    m.store32(address + TASK_PID, fields.pid);
    m.store32(address + TASK_PPID, fields.ppid);
    m.store32(address + TASK_STATE, fields.state);
    m.store32(address + TASK_EXIT, fields.exit);
    store64(m, address + TASK_MM, fields.mm);
    store64(m, address + TASK_STACK, fields.stack);
    const comm = new Uint8Array(TASK_COMM_LENGTH);
    comm.set(new TextEncoder().encode(fields.name).subarray(0, TASK_COMM_LENGTH - 1));
    m.writeBytes(address + TASK_COMM, comm);
  }

  writeTaskState(address: number, state: number, exit: number): void {
    this.memory.store32(address + TASK_STATE, state);
    this.memory.store32(address + TASK_EXIT, exit);
  }

  /**
   * Writes into the mm_struct at `address` the fields that differ from `written` (what it last
   * got, which then follows): a system call changes one or two of them, and every store is a
   * kernel access through the MMU (the heap's mmap and munmap, thousands a second, changed only
   * the map count and rss).
   */
  writeMm(address: number, fields: MmFields, written: MmFields): void {
    const m = this.memory;
    if (fields.pgd !== written.pgd) store64(m, address + MM_PGD, fields.pgd);
    if (fields.startBrk !== written.startBrk) store64(m, address + MM_START_BRK, fields.startBrk);
    if (fields.brk !== written.brk) store64(m, address + MM_BRK, fields.brk);
    if (fields.mapCount !== written.mapCount) m.store32(address + MM_MAP_COUNT, fields.mapCount);
    if (fields.rss !== written.rss) m.store32(address + MM_RSS, fields.rss);
    written.pgd = fields.pgd;
    written.startBrk = fields.startBrk;
    written.brk = fields.brk;
    written.mapCount = fields.mapCount;
    written.rss = fields.rss;
  }
}
