/** Number formatting for people, where exact byte counts would be noise. */

const UNITS: readonly (readonly [string, number])[] = [
  ['GiB', 2 ** 30],
  ['MiB', 2 ** 20],
  ['KiB', 2 ** 10],
];
/** Digits after the point for scaled sizes. */
const DECIMALS = 1;

/** `bytes` in the largest unit it reaches, one decimal when not whole: `923.2 KiB`, `4 MiB`. */
export function formatBytes(bytes: number): string {
  for (const [unit, scale] of UNITS) {
    if (bytes >= scale) {
      const value = bytes / scale;
      return `${Number.isInteger(value) ? value : value.toFixed(DECIMALS)} ${unit}`;
    }
  }
  return `${bytes} B`;
}
