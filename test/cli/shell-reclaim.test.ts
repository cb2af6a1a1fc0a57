/**
 * The shell's view of reclaim on a machine with swap: `swapon` (as `swapon --show`), `pageout`
 * (MADV_PAGEOUT inside a process) and `lru` (the policy's lists with each page's mappings).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureBuilt } from './helpers.js';

beforeAll(ensureBuilt, 120_000);

const SHELL = ['shell', '--memory', '32M', '--swap', '16M'];

/** Where `mmap 1 64K` maps in a fresh shell (the machine is deterministic for its seed). */
async function mappedAddress(): Promise<string> {
  const result = await cli(SHELL, { input: 'spawn a\nmmap 1 64K\n' });
  return /mmap\(65536\) = (0x[0-9a-f]+)/.exec(result.stdout)![1]!;
}

describe('shell with swap', () => {
  it('pageout sends pages to swap; swapon and lru show the device and the lists', async () => {
    const at = await mappedAddress();
    const script = [
      'spawn a',
      'mmap 1 64K',
      `touch 1 ${at} 64K`,
      'swapon',
      `pageout 1 ${at} 16K`,
      'swapon',
      'lru 3',
      'cat swaps',
      `touch 1 ${at} 16K`,
    ].join('\n');
    const result = await cli(SHELL, { input: `${script}\n` });
    expect(result.code).toBe(0);
    const out = result.stdout;
    expect(out).toMatch(/NAME +│ TYPE +│ +SIZE │ +USED │ PRIO/);
    expect(out).toMatch(/│ \/dev\/vdb │ partition │ +16\.0 MiB │ +0 B │ +-2 │/);
    expect(out).toContain(`madvise(${at}, 16384, MADV_PAGEOUT) = 0: 4 page(s) now in swap`);
    expect(out).toMatch(/│ \/dev\/vdb │ partition │ +16\.0 MiB │ +16 KiB │ +-2 │/);
    expect(out).toContain('reclaim policy linux');
    expect(out).toContain('inactive: 12 pages, newest first');
    expect(out).toContain('… and 9 more');
    expect(out).toContain('active: 0 pages, newest first');
    expect(out).toMatch(/│ 0x[0-9a-f]+ │ 1:0x[0-9a-f]+ +│ A │ D │/);
    expect(out).toMatch(/\/dev\/vdb +partition\t16380\t\t16\t\t-2/);
    expect(out).toContain(
      `touched 4 page(s) from ${at}: 0 page fault(s), 4 major (read back from swap)`,
    );
  }, 60_000);

  it('without swap, swapon and lru say there is none; bad arguments are errors', async () => {
    const result = await cli(['shell', '--memory', '32M'], {
      input: 'swapon\nlru\nlru x\npageout 1\n',
    });
    expect(result.stdout).toContain('no swap (boot the shell with --swap SIZE)');
    expect(result.stdout).toContain('no reclaim without swap');
    expect(result.stdout + result.stderr).toContain("'x' is not a count");
    expect(result.stdout + result.stderr).toContain('usage: pageout PID ADDR [SIZE]');
    expect(result.code).toBe(1);
  }, 60_000);
});
