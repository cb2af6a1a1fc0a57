/**
 * The repository alone, as a user's clone has it: its files are copied into a temporary folder
 * with nothing beside it (no `../shared`), and the tests that read files run there — the sample
 * traces, the page-reference samples, the lint of paths. They would fail on any read outside.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** What a clone does not hold: installed, built or generated files, and git's own. */
const NOT_IN_A_CLONE = new Set(['node_modules', 'dist', '.git', 'test-artifacts', 'coverage']);
/** The tests that read the repository's files (traces, page traces, the sources they lint). */
const FILE_TESTS = [
  'test/trace/fragmentation.test.ts',
  'test/trace/replay.test.ts',
  'test/replacement/lab-policies.test.ts',
  'test/repository/self-contained.test.ts',
];
const RUN_TIMEOUT_MS = 240_000;

const scratch = mkdtempSync(join(tmpdir(), 'wallos-clone-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** A copy of the repository's own files in `scratch/<name>`, with the installed packages linked. */
function freshCopy(): string {
  const copy = join(scratch, basename(ROOT));
  for (const entry of readdirSync(ROOT)) {
    if (!NOT_IN_A_CLONE.has(entry))
      cpSync(join(ROOT, entry), join(copy, entry), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(copy, 'node_modules'));
  return copy;
}

describe('a copy of the repository with nothing beside it', () => {
  it(
    'runs the tests that read files',
    () => {
      const copy = freshCopy();
      expect(readdirSync(scratch)).toEqual([basename(copy)]); // nothing beside the repository
      for (const test of FILE_TESTS) expect(existsSync(join(copy, test)), test).toBe(true);
      const inherited = Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST'));
      const env = { ...Object.fromEntries(inherited), NO_COLOR: '1', FORCE_COLOR: '0' };
      const output = execFileSync(
        process.execPath,
        [join(copy, 'node_modules', 'vitest', 'vitest.mjs'), 'run', ...FILE_TESTS],
        { cwd: copy, env, encoding: 'utf8', timeout: RUN_TIMEOUT_MS },
      );
      expect(output).toMatch(new RegExp(`Test Files\\s+${FILE_TESTS.length} passed`));
    },
    RUN_TIMEOUT_MS,
  );
});
