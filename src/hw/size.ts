/** Byte sizes as people write them: `'256M'`, `'4G'`, `'64KiB'`, or a plain number. */
import { InvalidArgumentError } from '../errors.js';
import { KiB, PAGE_SIZE } from './constants.js';

const UNIT_SHIFT: Record<string, number> = { '': 0, K: 10, M: 20, G: 30, T: 40 };
const SIZE_PATTERN = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:I?B)?$/i;

/**
 * Parses a size with an optional binary suffix (K, M, G, T; `B`/`iB` may follow).
 * @throws InvalidArgumentError for anything that is not a whole, non-negative number of bytes.
 */
export function parseSize(input: string | number): number {
  if (typeof input === 'number') {
    if (!Number.isSafeInteger(input) || input < 0) {
      throw new InvalidArgumentError(`invalid size ${input}: expected a whole number of bytes`);
    }
    return input;
  }
  const match = SIZE_PATTERN.exec(input.trim());
  if (match === null) {
    throw new InvalidArgumentError(
      `invalid size '${input}': expected a number with an optional K, M, G or T suffix`,
    );
  }
  const bytes = Number(match[1]) * 2 ** UNIT_SHIFT[match[2]!.toUpperCase()]!;
  if (!Number.isSafeInteger(bytes)) {
    throw new InvalidArgumentError(`invalid size '${input}': not a whole number of bytes`);
  }
  return bytes;
}

/** Formats a byte count with the largest binary unit that keeps it whole, e.g. `256 MiB`. */
export function formatSize(bytes: number): string {
  for (const [unit, shift] of [
    ['TiB', 40],
    ['GiB', 30],
    ['MiB', 20],
    ['KiB', 10],
  ] as const) {
    const scale = 2 ** shift;
    if (bytes >= scale && bytes % scale === 0) return `${bytes / scale} ${unit}`;
  }
  return `${bytes} B`;
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/**
 * A byte count for people, where an exact count would be noise: the largest binary unit it
 * reaches, one decimal when not whole (`512 B`, `923.2 KiB`, `1.5 MiB`). Unlike
 * {@link formatSize} it rounds, so it does not read back exactly.
 */
export function formatBytes(bytes: number): string {
  if (bytes < KiB) return `${bytes} B`;
  let value = bytes / KiB;
  let unit = 0;
  while (value >= KiB && unit < BYTE_UNITS.length - 1) {
    value /= KiB;
    unit++;
  }
  const digits = Number.isInteger(value) ? 0 : 1;
  return `${value.toFixed(digits)} ${BYTE_UNITS[unit]}`;
}

/** Pages to kilobytes, as Linux's `K(x)` (`x << (PAGE_SHIFT - 10)`) for /proc and the log. */
export function pagesToKb(pages: number): number {
  return (pages * PAGE_SIZE) / KiB;
}
