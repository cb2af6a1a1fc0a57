/**
 * Synthetic allocation traces (wallos-trace v1 text) that mimic shapes seen in real programs'
 * traces, for profiling and benchmarking the heap where the two samples do not reach:
 *
 * ```
 *  realloc-ladder  one buffer realloc'd from 4 KiB to 20 MB in 44 steps (a growing string or
 *                  array), with small objects coming and going between the steps
 *  grow-400        400 buffers each grown to 800 KB in 16 steps, 40 at a time, interleaved
 *  live-100m       100 MB of mixed small, medium and large objects live, churned
 * ```
 *
 * Deterministic (a fixed seed), generated on demand rather than stored: `wallos-mem replay
 * synthetic:NAME` replays one, and {@link syntheticTraceText} gives the text to write out.
 */
import { KiB } from '../hw/constants.js';
import { mulberry32 } from '../random.js';

/** A synthetic trace's name, what it mimics, and how to make it. */
export interface SyntheticShape {
  readonly name: string;
  readonly description: string;
  build(): string;
}

const MB = 1_000_000;
const SEED = 20;
/** One op in this many of the small-object churn allocates an object that stays live. */
const CHURN_GROWTH = 32;

/**
 * Builds a trace op by op, keeping the header's figures (ops, objects, peak live bytes) true
 * to the ops written.
 */
export class TraceWriter {
  private readonly lines: string[] = [];
  private readonly sizes: number[] = [0];
  private liveBytes = 0;
  private peakLiveBytes = 0;

  /** `malloc(size)`: the new object's id. */
  malloc(size: number): number {
    const id = this.sizes.length;
    this.sizes.push(size);
    this.lines.push(`a ${id} ${size}`);
    this.grew(size);
    return id;
  }

  /** `realloc` of live object `id` to `size` bytes (at least 1). */
  realloc(id: number, size: number): void {
    this.lines.push(`r ${id} ${size}`);
    this.grew(size - this.sizes[id]!);
    this.sizes[id] = size;
  }

  free(id: number): void {
    this.lines.push(`f ${id}`);
    this.liveBytes -= this.sizes[id]!;
  }

  /** The whole trace: header, then the ops. */
  text(program: string, note: string): string {
    const header = [
      '# wallos-trace v1',
      `# program: ${program}`,
      `# ops: ${this.lines.length}`,
      `# peak_live_bytes: ${this.peakLiveBytes}`,
      '# threads: 1',
      `# objects: ${this.sizes.length - 1}`,
      `# note: ${note}`,
    ];
    return `${header.join('\n')}\n${this.lines.join('\n')}\n`;
  }

  private grew(bytes: number): void {
    this.liveBytes += bytes;
    if (this.liveBytes > this.peakLiveBytes) this.peakLiveBytes = this.liveBytes;
  }
}

/**
 * Small objects coming and going, as a program's other work between its big reallocs: each
 * pair of ops frees a random one of the pool and allocates a fresh one, and one op in
 * {@link CHURN_GROWTH} adds an object that stays, so the heap's top keeps moving up (and a
 * big block below it cannot simply grow there).
 */
class Churn {
  private readonly pool: number[] = [];

  constructor(
    private readonly writer: TraceWriter,
    private readonly random: () => number,
    poolSize: number,
  ) {
    for (let i = 0; i < poolSize; i++) this.pool.push(writer.malloc(this.size()));
  }

  run(ops: number): void {
    for (let i = 0; i < ops; i += 2) {
      const slot = Math.floor(this.random() * this.pool.length);
      this.writer.free(this.pool[slot]!);
      this.pool[slot] = this.writer.malloc(this.size());
      if (i % CHURN_GROWTH === 0) this.pool.push(this.writer.malloc(this.size()));
    }
  }

  /** 16..512 bytes, small ones likelier, as in the sample traces. */
  private size(): number {
    return 16 + Math.floor(this.random() ** 2 * 496);
  }
}

/** The sizes of a block grown geometrically from `from` to exactly `to` in `steps` reallocs. */
function ladder(from: number, to: number, steps: number): number[] {
  const ratio = (to / from) ** (1 / steps);
  const sizes: number[] = [];
  for (let step = 1; step < steps; step++) sizes.push(Math.round(from * ratio ** step));
  sizes.push(to);
  return sizes;
}

/** One block realloc'd through `steps` sizes from `from` to `to`, `churn` ops between steps. */
export function reallocLadder(from: number, to: number, steps: number, churn: number): string {
  const writer = new TraceWriter();
  const small = new Churn(writer, mulberry32(SEED), 256);
  const block = writer.malloc(from);
  for (const size of ladder(from, to, steps)) {
    small.run(churn);
    writer.realloc(block, size);
  }
  small.run(churn);
  writer.free(block);
  return writer.text(
    'synthetic realloc-ladder',
    `one block realloc'd from ${from} to ${to} bytes in ${steps} steps, ${churn} small ops between`,
  );
}

/**
 * `blocks` buffers each grown from `from` to `to` bytes in `steps` reallocs, `live` at a time
 * with their reallocs interleaved, then freed; small-object churn between rounds.
 */
export function growMany(
  blocks: number,
  live: number,
  from: number,
  to: number,
  steps: number,
): string {
  const writer = new TraceWriter();
  const random = mulberry32(SEED);
  const small = new Churn(writer, random, 256);
  const sizes = ladder(from, to, steps);
  for (let first = 0; first < blocks; first += live) {
    const wave: number[] = [];
    for (let i = first; i < Math.min(blocks, first + live); i++) wave.push(writer.malloc(from));
    for (const size of sizes) {
      for (const id of wave) writer.realloc(id, size);
      small.run(64);
    }
    for (const id of wave) writer.free(id);
  }
  return writer.text(
    'synthetic grow-many',
    `${blocks} blocks grown from ${from} to ${to} bytes in ${steps} steps, ${live} at a time`,
  );
}

/**
 * `liveBytes` of objects live (sizes mostly small, some medium, a few large), then `churn` ops
 * that free a random object and allocate one of a fresh size, keeping about as much live.
 */
export function largeLive(liveBytes: number, churn: number): string {
  const writer = new TraceWriter();
  const random = mulberry32(SEED);
  const size = (): number => {
    const kind = random();
    if (kind < 0.8) return 16 + Math.floor(random() * 240);
    if (kind < 0.98) return 256 + Math.floor(random() * 16 * KiB);
    return 64 * KiB + Math.floor(random() * MB);
  };
  const ids: number[] = [];
  const sizes: number[] = [];
  let live = 0;
  while (live < liveBytes) {
    const bytes = size();
    ids.push(writer.malloc(bytes));
    sizes.push(bytes);
    live += bytes;
  }
  for (let i = 0; i < churn; i += 2) {
    const slot = Math.floor(random() * ids.length);
    writer.free(ids[slot]!);
    sizes[slot] = size();
    ids[slot] = writer.malloc(sizes[slot]!);
  }
  for (const id of ids) writer.free(id);
  return writer.text('synthetic live-100m', `${liveBytes} bytes live, ${churn} ops of churn`);
}

export const SYNTHETIC_SHAPES: readonly SyntheticShape[] = [
  {
    name: 'realloc-ladder',
    description: "one block realloc'd from 4 KiB to 20 MB in 44 steps, small churn between",
    build: () => reallocLadder(4 * KiB, 20 * MB, 44, 4000),
  },
  {
    name: 'grow-400',
    description: '400 blocks grown to 800 KB in 16 steps, 40 at a time',
    build: () => growMany(400, 40, 4 * KiB, 800_000, 16),
  },
  {
    name: 'live-100m',
    description: '100 MB of mixed objects live, churned',
    build: () => largeLive(100 * MB, 400_000),
  },
];

/** The text of the synthetic trace `name`, or undefined for an unknown name. */
export function syntheticTraceText(name: string): string | undefined {
  return SYNTHETIC_SHAPES.find((shape) => shape.name === name)?.build();
}
