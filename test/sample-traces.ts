/**
 * The two sample traces shipped in `assets/traces/` (from the course's traces, see their
 * FORMAT.md), with glibc's fragmentation figure on each.
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** glibc 2.36's peak footprint / peak live bytes on the samples (docs/trace-format.md). */
export const GLIBC_RATIO: Readonly<Record<string, number>> = {
  'python-compileall-small': 1.118,
  'sqlite3-small': 1.104,
};

/** The text of sample trace `name` (without `.trace.gz`). */
export function readSampleTrace(name: string): string {
  const file = new URL(`../assets/traces/${name}.trace.gz`, import.meta.url);
  return gunzipSync(readFileSync(file)).toString('latin1');
}
