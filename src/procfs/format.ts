/** Number formatting shared by the /proc files. */

/** A `Name:   value kB` line as Linux's meminfo prints it: label in 16 columns, value in 8. */
export function kbLine(label: string, kilobytes: number): string {
  return `${`${label}:`.padEnd(16)}${String(Math.floor(kilobytes)).padStart(8)} kB\n`;
}

/** A meminfo line without unit (the HugePages counts). */
export function countLine(label: string, count: number): string {
  return `${`${label}:`.padEnd(16)}${String(count).padStart(8)}\n`;
}

/** Bytes to whole kilobytes. */
export function kb(bytes: number): number {
  return Math.floor(bytes / 1024);
}
