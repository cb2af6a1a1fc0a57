/**
 * Replays a parsed trace through a malloc-family allocator.
 *
 * Two kinds of pass, because checking contents costs far more than the calls themselves:
 * - the *verified* pass fills every block with a byte derived from its id, checks those bytes at
 *   realloc (the kept prefix), at free and at the end for blocks still live, checks calloc
 *   zeroing and every alignment (16, or ALIGN for `m`), recomputes peak live bytes (it must equal
 *   the header's) and samples `footprint()` after every op for the peak footprint;
 * - the *timed* passes (when a fresh allocator can be made) run the bare calls only, touching no
 *   memory, like the glibc reference replayer, and give ns/op as the median of their times.
 *   Without a factory, ns/op is the verified pass's time, checks included.
 */
import { WallosError } from '../errors.js';
import type { MemoryAccess } from '../hw/memory-access.js';
import type { Trace } from './parse.js';
import * as traceOps from './parse.js';

// Module-local copies of the op codes: V8 reads an imported binding through its module cell at
// every use (see user-allocator.ts), and the replay loop tests them once per op.
const { OP_CALLOC, OP_FREE, OP_MALLOC, OP_MEMALIGN, OP_REALLOC } = traceOps;

/** What a replay needs of an allocator (a UserAllocator, or a process's malloc family). */
export interface TraceAllocator {
  readonly memory: MemoryAccess;
  malloc(size: number): number;
  calloc(count: number, size: number): number;
  realloc(p: number, size: number): number;
  memalign(alignment: number, size: number): number;
  free(p: number): void;
  /** Bytes of heap and mmap the allocator holds now. */
  footprint(): number;
}

/** The figures of a replay (the JSON of `wallos-mem replay --json`). */
export interface ReplayResult {
  ops: number;
  peakLiveBytes: number;
  /**
   * The footprint sampled at every op where live bytes reach a new peak, and at the end:
   * FORMAT.md's peak footprint, as glibc's reference replayer samples it.
   */
  peakFootprintBytes: number;
  /** The footprint's maximum over every op (FORMAT.md's "max footprint"); not in the JSON. */
  maxFootprintBytes: number;
  nsPerOp: number;
  verified: boolean;
  /** Why verification failed (absent when verified). */
  failure?: string;
}

/** How to replay: a factory of fresh allocators for the timed passes, and a clock. */
export interface ReplayOptions {
  /** Makes a fresh allocator for each timed pass; without it ns/op comes from the verified pass. */
  freshAllocator?: () => TraceAllocator;
  /** Timed passes (their median is reported); 7 by default, as the glibc reference replayer. */
  timedRuns?: number;
  /** Milliseconds; `performance.now` by default. */
  now?: () => number;
}

/** An allocation call of the trace failed (returned NULL): the replay cannot go on. */
export class ReplayAllocationError extends WallosError {
  constructor(op: number, what: string) {
    super('ENOMEM', `trace op ${op + 1}: ${what} returned NULL`);
  }
}

const DEFAULT_ALIGNMENT = 16;
const PATTERN_MIX = 0x9e3779b1;
const DEFAULT_TIMED_RUNS = 7;
/** Times a byte, gives the 32-bit word of four copies of it. */
const BYTE_SPREAD = 0x01010101;

/** The byte every block of object `id` is filled with: never 0, so calloc zeroing shows. */
export function patternByte(id: number): number {
  return (Math.imul(id, PATTERN_MIX) >>> 24) | 1;
}

/** Replays `trace` through `allocator` verified, then timed on fresh allocators if possible. */
export function replayTrace(
  trace: Trace,
  allocator: TraceAllocator,
  options: ReplayOptions = {},
): ReplayResult {
  const now = options.now ?? (() => performance.now());
  const start = now();
  const result = new VerifiedReplay(trace, allocator).run();
  result.nsPerOp = ((now() - start) * 1e6) / Math.max(1, trace.ops);
  if (options.freshAllocator && result.verified) {
    const times: number[] = [];
    for (let run = 0; run < (options.timedRuns ?? DEFAULT_TIMED_RUNS); run++) {
      times.push(timeBareCalls(trace, options.freshAllocator(), now));
    }
    times.sort((x, y) => x - y);
    result.nsPerOp = (times[times.length >> 1]! * 1e6) / Math.max(1, trace.ops);
  }
  return result;
}

/**
 * One pass of the bare calls, touching no memory (like the glibc reference replayer); its time
 * in ms by `now`.
 */
export function timeBareCalls(trace: Trace, allocator: TraceAllocator, now: () => number): number {
  const pointers = new Float64Array(trace.objects + 1);
  const start = now();
  replayBareCalls(trace, allocator, pointers, 0, trace.ops);
  return now() - start;
}

/** Ops per call of the loop in {@link warmUpBareCalls}. */
const WARM_UP_SLICE = 4096;

/**
 * One untimed pass of the bare calls, made in slices of {@link WARM_UP_SLICE} ops, to warm up
 * V8 before timed passes. A timed pass calls the loop once, so V8 only ever optimizes it
 * on-stack, mid-loop (OSR), and every later pass starts in the interpreter again before jumping
 * into that code; called once per slice, the loop gets hot as a function and is optimized
 * from its entry, as each timed pass then runs it. glibc has no JIT to warm up.
 */
export function warmUpBareCalls(trace: Trace, allocator: TraceAllocator): void {
  const pointers = new Float64Array(trace.objects + 1);
  for (let from = 0; from < trace.ops; from += WARM_UP_SLICE) {
    replayBareCalls(trace, allocator, pointers, from, Math.min(trace.ops, from + WARM_UP_SLICE));
  }
}

/**
 * The loop of {@link timeBareCalls} over ops `[from, to)`, apart from the clock: V8 optimizes a
 * long loop while it runs (on-stack replacement), and a clock call after it would have had no
 * type feedback then, so leaving the loop would deoptimize inside the timed span.
 */
function replayBareCalls(
  trace: Trace,
  allocator: TraceAllocator,
  pointers: Float64Array,
  from: number,
  to: number,
): void {
  const { kinds, ids, arg1, arg2 } = trace;
  for (let i = from; i < to; i++) {
    const id = ids[i]!;
    switch (kinds[i]) {
      case OP_MALLOC:
        pointers[id] = allocator.malloc(arg1[i]!);
        break;
      case OP_CALLOC:
        pointers[id] = allocator.calloc(arg1[i]!, arg2[i]!);
        break;
      case OP_MEMALIGN:
        pointers[id] = allocator.memalign(arg1[i]!, arg2[i]!);
        break;
      case OP_REALLOC:
        pointers[id] = allocator.realloc(pointers[id]!, arg1[i]!);
        break;
      case OP_FREE:
        allocator.free(pointers[id]!);
    }
  }
}

class VerifiedReplay {
  private readonly pointers: Float64Array;
  private readonly sizes: Float64Array;
  private readonly m: MemoryAccess;
  private live = 0;
  private peakLive = 0;
  /** The footprint where live bytes reach a new peak, and at the end (FORMAT.md's figure). */
  private peakFootprint = 0;
  /** The footprint's maximum over every op. */
  private maxFootprint = 0;
  private failure: string | undefined;

  constructor(
    private readonly trace: Trace,
    private readonly allocator: TraceAllocator,
  ) {
    this.pointers = new Float64Array(trace.objects + 1);
    this.sizes = new Float64Array(trace.objects + 1);
    this.m = allocator.memory;
  }

  run(): ReplayResult {
    const { trace } = this;
    let footprint = 0;
    for (let i = 0; i < trace.ops && this.failure === undefined; i++) {
      const peakLive = this.peakLive;
      this.step(i);
      footprint = this.allocator.footprint();
      if (footprint > this.maxFootprint) this.maxFootprint = footprint;
      if (this.peakLive > peakLive && footprint > this.peakFootprint) {
        this.peakFootprint = footprint;
      }
    }
    if (footprint > this.peakFootprint) this.peakFootprint = footprint; // and at the end
    for (let id = 1; id <= trace.objects && this.failure === undefined; id++) {
      if (this.pointers[id] !== 0) this.expectPattern(id, this.sizes[id]!, 'at the end');
    }
    if (this.failure === undefined && this.peakLive !== trace.peakLiveBytes) {
      this.failure = `peak live bytes ${this.peakLive} differ from the header's ${trace.peakLiveBytes}`;
    }
    const result: ReplayResult = {
      ops: trace.ops,
      peakLiveBytes: this.peakLive,
      peakFootprintBytes: this.peakFootprint,
      maxFootprintBytes: this.maxFootprint,
      nsPerOp: 0,
      verified: this.failure === undefined,
    };
    if (this.failure !== undefined) result.failure = this.failure;
    return result;
  }

  private step(i: number): void {
    const { kinds, ids, arg1, arg2 } = this.trace;
    const id = ids[i]!;
    switch (kinds[i]) {
      case OP_MALLOC:
        this.born(i, id, this.allocator.malloc(arg1[i]!), arg1[i]!, DEFAULT_ALIGNMENT);
        break;
      case OP_CALLOC: {
        const bytes = arg1[i]! * arg2[i]!;
        const p = this.allocator.calloc(arg1[i]!, arg2[i]!);
        if (p !== 0 && !this.isFilledWith(p, bytes, 0))
          this.fail(i, id, 'calloc memory not zeroed');
        this.born(i, id, p, bytes, DEFAULT_ALIGNMENT);
        break;
      }
      case OP_MEMALIGN: {
        const align = Math.max(arg1[i]!, DEFAULT_ALIGNMENT);
        this.born(i, id, this.allocator.memalign(arg1[i]!, arg2[i]!), arg2[i]!, align);
        break;
      }
      case OP_REALLOC:
        this.resized(i, id, arg1[i]!);
        break;
      case OP_FREE:
        this.died(id);
    }
  }

  private born(i: number, id: number, p: number, bytes: number, align: number): void {
    if (p === 0) throw new ReplayAllocationError(i, `allocation of ${bytes} bytes (id ${id})`);
    if (p % align !== 0) this.fail(i, id, `block ${p} is not aligned to ${align}`);
    this.m.fill(p, bytes, patternByte(id));
    this.pointers[id] = p;
    this.sizes[id] = bytes;
    this.addLive(bytes);
  }

  private resized(i: number, id: number, bytes: number): void {
    const old = this.sizes[id]!;
    const p = this.allocator.realloc(this.pointers[id]!, bytes);
    if (p === 0) throw new ReplayAllocationError(i, `realloc to ${bytes} bytes (id ${id})`);
    if (p % DEFAULT_ALIGNMENT !== 0) this.fail(i, id, `block ${p} is not aligned to 16`);
    this.pointers[id] = p;
    this.sizes[id] = bytes;
    this.expectPattern(id, Math.min(old, bytes), 'after realloc');
    if (bytes > old) this.m.fill(p + old, bytes - old, patternByte(id));
    this.addLive(bytes - old);
  }

  private died(id: number): void {
    this.expectPattern(id, this.sizes[id]!, 'at free');
    this.allocator.free(this.pointers[id]!);
    this.pointers[id] = 0;
    this.addLive(-this.sizes[id]!);
  }

  private expectPattern(id: number, bytes: number, when: string): void {
    if (!this.isFilledWith(this.pointers[id]!, bytes, patternByte(id))) {
      this.failure ??= `contents of object ${id} changed (checked ${when})`;
    }
  }

  /** True when all `bytes` at `p` are `byte`: compared a word at a time, then the tail. */
  private isFilledWith(p: number, bytes: number, byte: number): boolean {
    if (bytes === 0) return true;
    const contents = this.m.readBytes(p, bytes);
    // A view of the copy's words (one whose bytes do not start on a word is checked bytewise).
    const wordCount = (contents.byteOffset & 3) === 0 ? contents.length >> 2 : 0;
    const words = new Int32Array(contents.buffer, contents.byteOffset, wordCount);
    const word = Math.imul(byte, BYTE_SPREAD);
    for (let k = 0; k < words.length; k++) if (words[k] !== word) return false;
    for (let k = words.length << 2; k < contents.length; k++)
      if (contents[k] !== byte) return false;
    return true;
  }

  private fail(i: number, id: number, what: string): void {
    this.failure ??= `op ${i + 1} (object ${id}): ${what}`;
  }

  private addLive(delta: number): void {
    this.live += delta;
    if (this.live > this.peakLive) this.peakLive = this.live;
  }
}
