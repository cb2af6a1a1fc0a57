/** Reading numbers out of /proc text the way the tests do. */

/** The value of a `Name:   1234 kB` line of `text` (meminfo, status, smaps). */
export function kbField(text: string, name: string): number {
  const match = new RegExp(`^${literal(name)}:\\s+(\\d+) kB$`, 'm').exec(text);
  if (match === null) throw new Error(`${name} missing`);
  return Number(match[1]);
}

/** The value of a `name 1234` line of `text` (/proc/vmstat). */
export function vmstatField(text: string, name: string): number {
  const match = new RegExp(`^${literal(name)} (\\d+)$`, 'm').exec(text);
  if (match === null) throw new Error(`${name} missing`);
  return Number(match[1]);
}

/** `name` as a regular expression matching it literally (meminfo has `Active(anon)`). */
function literal(name: string): string {
  return name.replace(/[()]/g, '\\$&');
}
