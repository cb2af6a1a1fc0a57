/**
 * Page-reference traces: text, one reference per line, the first number on the line being the
 * page (or block) number in decimal.
 *
 * ```
 *   # the cpp trace (LIRS collection)     ← '#' starts a comment line
 *   1006                                   ← a reference to page 1006
 *   1007 17 0.25                           ← extra fields (a count, a time) are ignored,
 *   1008,3                                 ← …after white space or a comma
 *                                          ← blank lines are ignored
 * ```
 *
 * Pages are renumbered densely in order of first reference (`0 <= page < distinct`) in this one
 * pass, so every policy can keep its state in typed arrays indexed by page. Decompressing a
 * gzipped trace is the caller's (node:zlib in the CLI, DecompressionStream in the browser).
 */
import { WallosError } from '../errors.js';

/** A trace ready to replay: dense page numbers in reference order. */
export interface PageTrace {
  /** The references, each a dense page number. */
  readonly pages: Int32Array;
  /** Distinct pages referenced: every page number is below this. */
  readonly distinct: number;
}

/** A line of a page trace that is not a comment, blank, or a page number. */
export class PageTraceError extends WallosError {
  constructor(
    readonly line: number,
    reason: string,
  ) {
    super('PAGE_TRACE', `line ${line}: ${reason}`);
  }
}

const LINE_FEED = 0x0a;
const CARRIAGE_RETURN = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;
const COMMA = 0x2c;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
/** How much of a bad line an error message quotes. */
const QUOTED_CHARS = 40;

function isBlank(byte: number): boolean {
  return byte === SPACE || byte === TAB || byte === CARRIAGE_RETURN;
}

function isDigit(byte: number): boolean {
  return byte >= DIGIT_0 && byte <= DIGIT_9;
}

/**
 * Parses a page-reference trace (text or its bytes).
 * @throws PageTraceError naming the first line that is not a comment, blank or page number.
 */
export function parsePageTrace(input: string | Uint8Array): PageTrace {
  const bytes = typeof input === 'string' ? new TextEncoder().encode(input) : input;
  const dense = new Map<number, number>();
  let pages: Int32Array = new Int32Array(1024);
  let refs = 0;
  let line = 0;
  for (let start = startOfText(bytes); start < bytes.length; ) {
    line++;
    let end = bytes.indexOf(LINE_FEED, start);
    if (end < 0) end = bytes.length;
    const page = parseLine(bytes, start, end, line);
    start = end + 1;
    if (page < 0) continue;
    let id = dense.get(page);
    if (id === undefined) {
      id = dense.size;
      dense.set(page, id);
    }
    if (refs === pages.length) pages = grow(pages);
    pages[refs++] = id;
  }
  return { pages: pages.slice(0, refs), distinct: dense.size };
}

/** Where the text begins: past a UTF-8 byte-order mark (editors on Windows write one). */
function startOfText(bytes: Uint8Array): number {
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  return bom ? 3 : 0;
}

/** The page number on `bytes[start, end)`, or -1 for a blank or comment line. */
function parseLine(bytes: Uint8Array, start: number, end: number, line: number): number {
  let at = start;
  while (at < end && isBlank(bytes[at]!)) at++;
  if (at === end || bytes[at] === HASH) return -1;
  let page = 0;
  const digits = at;
  while (at < end && isDigit(bytes[at]!)) page = page * 10 + (bytes[at++]! - DIGIT_0);
  if (at === digits || (at < end && !isBlank(bytes[at]!) && bytes[at] !== COMMA)) {
    throw new PageTraceError(line, `${quote(bytes, start, end)} is not a page number`);
  }
  if (!Number.isSafeInteger(page)) {
    throw new PageTraceError(line, `page number ${quote(bytes, digits, at)} is too large`);
  }
  return page;
}

function quote(bytes: Uint8Array, start: number, end: number): string {
  const text = new TextDecoder().decode(bytes.subarray(start, end)).trim();
  return JSON.stringify(text.length > QUOTED_CHARS ? `${text.slice(0, QUOTED_CHARS)}…` : text);
}

function grow(pages: Int32Array): Int32Array {
  const larger = new Int32Array(pages.length * 2);
  larger.set(pages);
  return larger;
}
