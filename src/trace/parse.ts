/**
 * Parser of wallos-trace v1 text (docs/trace-format.md): validates every rule of the format
 * and returns the ops as parallel typed arrays, so a 300k-line trace costs a few MB and replays
 * without allocating. Isomorphic: the caller gunzips.
 *
 * ```
 *  kinds: Uint8Array    'a' 'c' 'm' 'r' 'f'   (char codes)
 *  ids:   Uint32Array   object id
 *  arg1:  Float64Array  a: SIZE   c: NMEMB   m: ALIGN   r: SIZE   f: 0
 *  arg2:  Float64Array  a: 0      c: SIZE    m: SIZE    r: 0      f: 0
 * ```
 */
import { WallosError } from '../errors.js';

/** A trace that breaks a rule of the format; `line` is 1-based. */
export class TraceFormatError extends WallosError {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super('TRACE_FORMAT', `trace line ${line}: ${reason}`);
  }
}

/** Op `a`: malloc(SIZE). */
export const OP_MALLOC = 0x61;
/** Op `c`: calloc(NMEMB, SIZE). */
export const OP_CALLOC = 0x63;
/** Op `m`: an aligned allocation of SIZE at ALIGN. */
export const OP_MEMALIGN = 0x6d;
/** Op `r`: realloc of a live id to SIZE. */
export const OP_REALLOC = 0x72;
/** Op `f`: free of a live id. */
export const OP_FREE = 0x66;

/** A parsed trace: header keys and the ops as parallel arrays (see the module comment). */
export interface Trace {
  /** Every `# KEY: VALUE` header line, in file order (unknown keys included). */
  readonly header: ReadonlyMap<string, string>;
  readonly program: string;
  readonly ops: number;
  readonly peakLiveBytes: number;
  readonly threads: number;
  /** How many ids the allocation lines gave out (the largest id). */
  readonly objects: number;
  readonly kinds: Uint8Array;
  readonly ids: Uint32Array;
  readonly arg1: Float64Array;
  readonly arg2: Float64Array;
}

const MAGIC = '# wallos-trace v1';
const REQUIRED_KEYS: readonly string[] = ['program', 'ops', 'peak_live_bytes', 'threads'];
const NEWLINE = 0x0a;
const SPACE = 0x20;
const CARRIAGE_RETURN = 0x0d;
const HASH = 0x23;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const LOWER_A = 0x61;
const LOWER_Z = 0x7a;
const ASCII_LIMIT = 0x80;
const MAX_ID = 2 ** 32 - 1;

/** Parses and validates a whole wallos-trace v1 text; throws {@link TraceFormatError}. */
export function parseTrace(text: string): Trace {
  if (text.length === 0 || text.charCodeAt(text.length - 1) !== NEWLINE) {
    throw new TraceFormatError(lineCount(text), 'the last line must end with \\n');
  }
  const parser = new TraceParser(text);
  return parser.parse();
}

/** The number of the last line of a text that does not end with a newline. */
function lineCount(text: string): number {
  let lines = 1;
  for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) === NEWLINE) lines++;
  return lines;
}

class TraceParser {
  private pos = 0;
  private line = 0;
  private readonly header = new Map<string, string>();
  private kinds = new Uint8Array(0);
  private ids = new Uint32Array(0);
  private arg1 = new Float64Array(0);
  private arg2 = new Float64Array(0);
  private count = 0;
  private nextId = 1;
  /** Requested bytes of each live id, NaN when not live (index = id). */
  private live = new Float64Array(0);
  private liveBytes = 0;
  private peak = 0;

  constructor(private readonly text: string) {}

  parse(): Trace {
    this.readHeader();
    const ops = this.decimalKey('ops');
    const objects = this.header.has('objects') ? this.decimalKey('objects') : ops;
    this.allocate(ops, objects);
    while (this.pos < this.text.length) this.readOp();
    if (this.count !== ops) this.fail(`header says ops: ${ops} but there are ${this.count} ops`);
    const peakLiveBytes = this.decimalKey('peak_live_bytes');
    if (this.peak !== peakLiveBytes) {
      this.fail(`header says peak_live_bytes: ${peakLiveBytes} but the ops peak at ${this.peak}`);
    }
    if (this.header.has('objects') && objects !== this.nextId - 1) {
      this.fail(`header says objects: ${objects} but ${this.nextId - 1} ids were allocated`);
    }
    return {
      header: this.header,
      program: this.header.get('program')!,
      ops,
      peakLiveBytes,
      threads: this.decimalKey('threads'),
      objects: this.nextId - 1,
      kinds: this.kinds,
      ids: this.ids,
      arg1: this.arg1,
      arg2: this.arg2,
    };
  }

  private fail(reason: string): never {
    throw new TraceFormatError(this.line, reason);
  }

  /** The next line (without its \n), checked for ASCII, \r and tabs; advances past it. */
  private nextLine(): string {
    const end = this.text.indexOf('\n', this.pos);
    const line = this.text.slice(this.pos, end);
    this.pos = end + 1;
    this.line++;
    this.checkCharacters(line);
    return line;
  }

  /** Fails on a character the format forbids: non-ASCII, \\r, tab or another control. */
  private checkCharacters(line: string): void {
    for (let i = 0; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c >= ASCII_LIMIT) this.fail('non-ASCII character');
      if (c === CARRIAGE_RETURN) this.fail('carriage return (\\r) in line');
      if (c < SPACE) this.fail(`control character ${c} (a tab?) in line`);
    }
  }

  private readHeader(): void {
    if (this.nextLine() !== MAGIC) this.fail(`the first line must be exactly "${MAGIC}"`);
    while (this.pos < this.text.length && this.text.charCodeAt(this.pos) === HASH) {
      const line = this.nextLine();
      const colon = line.indexOf(': ');
      if (!line.startsWith('# ') || colon < 3) this.fail('header lines must read "# KEY: VALUE"');
      const key = line.slice(2, colon);
      if (key.includes(' ')) this.fail(`header key "${key}" contains a space`);
      const value = line.slice(colon + 2);
      const earlier = this.header.get(key);
      // `note` may repeat (and unknown keys must be tolerated): their values are joined.
      // A second value for a key the replay depends on would be ambiguous.
      if (earlier !== undefined && REQUIRED_KEYS.includes(key)) {
        this.fail(`header key "${key}" appears twice`);
      }
      this.header.set(key, earlier === undefined ? value : `${earlier}\n${value}`);
    }
    for (const key of REQUIRED_KEYS) {
      if (!this.header.has(key)) this.fail(`missing header key "${key}"`);
    }
  }

  private decimalKey(key: string): number {
    const value = this.header.get(key)!;
    const n = decimal(value, 0, value.length);
    if (n < 0)
      throw new TraceFormatError(1, `header ${key} must be a decimal number, got "${value}"`);
    return n;
  }

  private allocate(ops: number, objects: number): void {
    this.kinds = new Uint8Array(ops);
    this.ids = new Uint32Array(ops);
    this.arg1 = new Float64Array(ops);
    this.arg2 = new Float64Array(ops);
    this.live = new Float64Array(objects + 1).fill(Number.NaN);
  }

  private readOp(): void {
    const start = this.pos;
    const end = this.text.indexOf('\n', start);
    this.line++;
    this.pos = end + 1;
    const kind = this.text.charCodeAt(start);
    if (kind === HASH) this.fail('header line after the first op line');
    if (end === start) this.fail('blank line');
    if (kind < LOWER_A || kind > LOWER_Z)
      this.fail('an op line must start with a lowercase letter');
    if (this.text.charCodeAt(start + 1) !== SPACE) this.fail('expected one space after the op');
    const fields = this.fields(start + 2, end);
    if (this.count >= this.kinds.length) this.fail('more ops than the header says');
    const i = this.count++;
    this.kinds[i] = kind;
    switch (kind) {
      case OP_MALLOC:
        this.expectFields(fields, 2);
        this.allocation(i, this.a, 0, this.a);
        break;
      case OP_CALLOC:
        this.expectFields(fields, 3);
        if (this.a * this.b > Number.MAX_SAFE_INTEGER) this.fail('NMEMB*SIZE is beyond 2^53');
        this.allocation(i, this.a, this.b, this.a * this.b);
        break;
      case OP_MEMALIGN:
        this.expectFields(fields, 3);
        if (!isPowerOfTwo(this.a)) this.fail(`ALIGN ${this.a} is not a power of two`);
        this.allocation(i, this.a, this.b, this.b);
        break;
      case OP_REALLOC:
        this.expectFields(fields, 2);
        if (this.a === 0) this.fail('realloc to 0 bytes must be written as f');
        this.resize(i);
        break;
      case OP_FREE:
        this.expectFields(fields, 1);
        this.release(i);
        break;
      default:
        this.fail(`unknown op "${String.fromCharCode(kind)}"`);
    }
  }

  // The numeric fields of the current line, read by `fields` without allocating.
  private id = 0;
  private a = 0;
  private b = 0;

  /** Reads the space-separated decimal fields in [from, end); how many. */
  private fields(from: number, end: number): number {
    let n = 0;
    let fieldStart = from;
    for (let p = from; p <= end; p++) {
      if (p < end && this.text.charCodeAt(p) !== SPACE) continue;
      const value = decimal(this.text, fieldStart, p);
      if (value < 0) this.badField(from, end, n + 1);
      if (n === 0) this.id = value;
      else if (n === 1) this.a = value;
      else this.b = value;
      n++;
      fieldStart = p + 1;
    }
    return n;
  }

  /** Fails for a field that is not a plain decimal, naming the offending character if any. */
  private badField(from: number, end: number, field: number): never {
    this.checkCharacters(this.text.slice(from, end));
    return this.fail(`field ${field} is not a decimal number without leading zeros`);
  }

  private expectFields(got: number, wanted: number): void {
    if (got !== wanted) this.fail(`expected ${wanted} fields after the op, got ${got}`);
  }

  /** An a/c/m line: checks the id is the next one and makes it live with `bytes`. */
  private allocation(i: number, arg1: number, arg2: number, bytes: number): void {
    if (this.id !== this.nextId) this.fail(`allocation id ${this.id}, expected ${this.nextId}`);
    if (this.id >= this.live.length) this.fail('more ids than the header objects says');
    this.nextId++;
    this.ids[i] = this.id;
    this.arg1[i] = arg1;
    this.arg2[i] = arg2;
    this.live[this.id] = bytes;
    this.addLive(bytes);
  }

  private resize(i: number): void {
    const old = this.liveSize();
    this.ids[i] = this.id;
    this.arg1[i] = this.a;
    this.live[this.id] = this.a;
    this.addLive(this.a - old);
  }

  private release(i: number): void {
    const old = this.liveSize();
    this.ids[i] = this.id;
    this.live[this.id] = Number.NaN;
    this.addLive(-old);
  }

  /** Requested bytes of the live id on this line; fails if it is not live. */
  private liveSize(): number {
    const bytes = this.id > 0 && this.id <= MAX_ID ? this.live[this.id] : undefined;
    if (bytes === undefined || Number.isNaN(bytes)) this.fail(`id ${this.id} is not live`);
    return bytes;
  }

  private addLive(delta: number): void {
    this.liveBytes += delta;
    if (this.liveBytes > this.peak) this.peak = this.liveBytes;
  }
}

/** The value of the decimal in text[from, to), or -1 if it is empty, has a leading zero or a non-digit, or exceeds 2^53. */
function decimal(text: string, from: number, to: number): number {
  if (to <= from || (to - from > 1 && text.charCodeAt(from) === DIGIT_0)) return -1;
  let value = 0;
  for (let p = from; p < to; p++) {
    const c = text.charCodeAt(p);
    if (c < DIGIT_0 || c > DIGIT_9) return -1;
    value = value * 10 + (c - DIGIT_0);
  }
  return value <= Number.MAX_SAFE_INTEGER ? value : -1;
}

function isPowerOfTwo(n: number): boolean {
  return n >= 1 && 2 ** Math.round(Math.log2(n)) === n;
}
