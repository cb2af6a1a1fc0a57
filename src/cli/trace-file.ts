/** Reading a wallos-trace file from disk: plain or gzip (detected by its magic bytes). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { WallosError } from '../errors.js';
import { parseTrace, type Trace } from '../trace/index.js';
import { SYNTHETIC_SHAPES, syntheticTraceText } from '../trace/synthetic.js';
import { UsageError } from './errors.js';

/** The first two bytes of every gzip member (RFC 1952). */
const GZIP_MAGIC = [0x1f, 0x8b] as const;

/** The slice of a real CPython trace that ships with the package, for the demo. */
export const BUNDLED_TRACE = fileURLToPath(new URL('../../assets/demo.trace.gz', import.meta.url));

/** A trace file that exists but cannot be read as a trace (bad gzip, bad format). */
export class TraceFileError extends WallosError {
  constructor(path: string, reason: string) {
    super('TRACE_FILE', `${path}: ${reason}`);
  }
}

/** The prefix of a "path" that names a generated trace (src/trace/synthetic.ts) instead. */
export const SYNTHETIC_PREFIX = 'synthetic:';

/**
 * Reads, gunzips if needed, parses and validates the trace at `path`; `synthetic:NAME` is the
 * generated trace NAME instead of a file.
 * @throws UsageError when the file cannot be opened or no synthetic trace has that name;
 *   TraceFileError when it is not a valid trace.
 */
export function readTraceFile(path: string): Trace {
  const text = path.startsWith(SYNTHETIC_PREFIX) ? syntheticText(path) : readMaybeGzipped(path);
  try {
    // latin1 keeps every byte one character, so the parser sees (and rejects) non-ASCII bytes.
    return parseTrace(text.toString('latin1'));
  } catch (error) {
    if (error instanceof WallosError) throw new TraceFileError(path, error.message);
    throw error;
  }
}

/**
 * The bytes of the file at `path`, gunzipped when they start with gzip's magic.
 * @throws UsageError when the file cannot be opened; TraceFileError when its gzip is broken.
 */
export function readMaybeGzipped(path: string): Buffer {
  const bytes = readFileOrUsageError(path);
  return isGzip(bytes) ? gunzip(path, bytes) : bytes;
}

function syntheticText(path: string): Buffer {
  const name = path.slice(SYNTHETIC_PREFIX.length);
  const text = syntheticTraceText(name);
  if (text === undefined) {
    const names = SYNTHETIC_SHAPES.map((shape) => shape.name).join(', ');
    throw new UsageError(`no synthetic trace ${name}: there are ${names}`);
  }
  return Buffer.from(text, 'latin1');
}

function readFileOrUsageError(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const reason =
      code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : String(code);
    throw new UsageError(`cannot read trace ${path}: ${reason}`);
  }
}

function isGzip(bytes: Buffer): boolean {
  return bytes[0] === GZIP_MAGIC[0] && bytes[1] === GZIP_MAGIC[1];
}

function gunzip(path: string, bytes: Buffer): Buffer {
  try {
    return gunzipSync(bytes);
  } catch (error) {
    throw new TraceFileError(path, `not a valid gzip file (${(error as Error).message})`);
  }
}
