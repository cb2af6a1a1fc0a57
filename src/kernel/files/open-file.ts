/**
 * Open file descriptions (Linux's `struct file`): what a file descriptor refers to. An fd is
 * an index into a process's table; the description behind it holds the state that fork shares
 * — the offset of stdin, the one buffer every writer of stdout appends to:
 *
 * ```
 *  parent's fd table          child's fd table (a copy made by fork)
 *   0 ─────────────► InputFile  (bytes, offset) ◄───────────── 0
 *   1 ─────────────► OutputFile (bytes)         ◄───────────── 1
 *   2 ─────────────► OutputFile (bytes)         ◄───────────── 2
 * ```
 *
 * `refs` counts the fds, in every table, that refer to the description (Linux's f_count).
 */

export abstract class OpenFile {
  /** File descriptors referring to this description, over every fd table. */
  refs = 0;
}

/** A read-only file over fixed bytes, read front to back (a process's stdin). */
export class InputFile extends OpenFile {
  /** Where the next read starts: shared by every fd referring to this description. */
  offset = 0;

  constructor(readonly bytes: Uint8Array) {
    super();
  }

  /** Up to `length` bytes from the offset, without consuming them. */
  peek(length: number): Uint8Array {
    return this.bytes.subarray(this.offset, this.offset + length);
  }
}

/** A write-only file that keeps everything written to it, in order (stdout, stderr). */
export class OutputFile extends OpenFile {
  readonly bytes: number[] = [];

  append(bytes: Iterable<number>): void {
    for (const byte of bytes) this.bytes.push(byte);
  }

  /** What was written, decoded as UTF-8. */
  text(): string {
    return new TextDecoder().decode(Uint8Array.from(this.bytes));
  }
}

/** The three files a process is started with: fd 0, 1 and 2. */
export interface StandardFiles {
  readonly stdin: InputFile;
  readonly stdout: OutputFile;
  readonly stderr: OutputFile;
}
