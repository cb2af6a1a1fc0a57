/**
 * A process's file descriptor table (Linux's files_struct): fd → open file description.
 * fork copies the table and so shares every description by reference; exit closes them all.
 */
import type { OpenFile, StandardFiles } from './open-file.js';

export class FdTable {
  private readonly files: (OpenFile | undefined)[];

  private constructor(files: readonly (OpenFile | undefined)[]) {
    this.files = [...files];
    for (const file of this.files) if (file !== undefined) file.refs++;
  }

  /** A table of fd 0, 1 and 2 over `standard`. */
  static standard(standard: StandardFiles): FdTable {
    return new FdTable([standard.stdin, standard.stdout, standard.stderr]);
  }

  /** The description behind `fd`; undefined for a closed or invalid fd (EBADF). */
  get(fd: number): OpenFile | undefined {
    return Number.isSafeInteger(fd) && fd >= 0 ? this.files[fd] : undefined;
  }

  /** Closes `fd`: its description loses one reference. False when `fd` was not open (EBADF). */
  close(fd: number): boolean {
    const file = this.get(fd);
    if (file === undefined) return false;
    this.files[fd] = undefined;
    file.refs--;
    return true;
  }

  /** fork's copy: the same descriptions behind the same fds, one reference more each. */
  fork(): FdTable {
    return new FdTable(this.files);
  }

  /** Closes every fd (at exit): each description loses one reference. */
  closeAll(): void {
    for (const file of this.files) if (file !== undefined) file.refs--;
    this.files.length = 0;
  }

  /** The open descriptions, one entry per open fd. */
  openFiles(): OpenFile[] {
    return this.files.filter((file) => file !== undefined);
  }
}
