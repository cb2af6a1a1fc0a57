import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Runs a procps tool with our file bind-mounted over the real /proc file (needs root). */
export function withProcFile(files: Record<string, string>, command: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'wallos-proc-'));
  const mounts = Object.entries(files).map(([procPath, content], i) => {
    const file = join(dir, `f${i}`);
    writeFileSync(file, content);
    return `mount --bind ${file} ${procPath}`;
  });
  return execFileSync('unshare', ['-m', 'sh', '-c', `${mounts.join(' && ')} && ${command}`], {
    encoding: 'utf8',
  });
}
