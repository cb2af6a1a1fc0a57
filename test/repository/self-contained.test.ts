/**
 * The repository holds everything its code, tests, page and scripts need: no path in them
 * reaches outside it (a fresh `git clone` has no `../shared` beside it). Relative URLs are
 * resolved against their file; a path segment `shared` or a `../shared` anywhere in a string
 * is a reference to the course folder. The one allowed exception is the optional native
 * reference that `bench` looks for (src/cli/bench.ts), which says in one line when it is absent.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** What is checked: every file of these folders, and these files at the top. */
const FOLDERS = ['src', 'test', 'web', 'scripts', '.ci'];
const TOP_FILES = ['package.json', 'vitest.config.ts', 'tsconfig.json', 'tsconfig.build.json'];
/** Folders of generated or installed files. */
const SKIPPED = new Set(['node_modules', 'dist']);
const SOURCE_FILE = /\.(ts|js|mjs|cjs|json|html|css|sh)$|^run$/;
/** The optional external tool `bench` measures against, when present (see bench.ts). */
const ALLOWED = [
  { file: 'src/cli/bench.ts', text: "join(root, '..', 'shared', 'native-ref')" },
  { file: 'src/cli/bench.ts', text: 'no ../shared/native-ref beside the package' },
];
/** This file: its fixtures are the references it must find. */
const SELF = 'test/repository/self-contained.test.ts';

const RELATIVE_URL = /new URL\(\s*(['"`])([^'"`]*)\1\s*,\s*import\.meta\.url\s*\)/g;
const COURSE_FOLDER = /(['"`])shared\1|\.\.\/shared\b/g;

/** Where `text` (the contents of `file`, relative to the root) reaches outside the root. */
function outsideReferences(root: string, file: string, text: string): string[] {
  const found: string[] = [];
  for (const match of text.matchAll(RELATIVE_URL)) {
    const target = resolve(dirname(join(root, file)), match[2]!);
    if (relative(root, target).startsWith('..')) found.push(match[0]);
  }
  const allowed = ALLOWED.filter((a) => a.file === file).map((a) => a.text);
  const unexcused = allowed.reduce(
    (rest, excuse) => rest.replace(excuse, ''),
    withoutComments(text),
  );
  for (const match of unexcused.matchAll(COURSE_FOLDER)) found.push(match[0]);
  return found;
}

/** The text without its `//` line comments and `/* … *\/` block comments (paths in prose are
 * documentation, not reads). */
function withoutComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

function filesUnder(folder: string): string[] {
  const path = join(ROOT, folder);
  if (!statSync(path, { throwIfNoEntry: false })?.isDirectory()) return [];
  return readdirSync(path, { withFileTypes: true }).flatMap((entry) => {
    const child = join(folder, entry.name);
    if (entry.isDirectory()) return SKIPPED.has(entry.name) ? [] : filesUnder(child);
    return SOURCE_FILE.test(entry.name) ? [child] : [];
  });
}

describe('the repository is self-contained', () => {
  it('finds a reference to the course folder or a URL outside the root when there is one', () => {
    const root = '/repo';
    expect(
      outsideReferences(
        root,
        'test/trace/x.test.ts',
        "new URL('../../../shared/traces/', import.meta.url)",
      ),
    ).toHaveLength(2);
    expect(
      outsideReferences(root, 'test/x.test.ts', "new URL('../../outside', import.meta.url)"),
    ).toHaveLength(1);
    expect(
      outsideReferences(root, 'src/x.ts', "const p = join(here, '..', 'shared', 'traces');"),
    ).toHaveLength(1);
    expect(
      outsideReferences(root, 'src/cli/x.ts', "new URL('../../assets/a.gz', import.meta.url)"),
    ).toEqual([]);
    expect(
      outsideReferences(root, 'src/x.ts', '// see shared/traces/FORMAT.md and ../shared/x'),
    ).toEqual([]);
  });

  it('has no source, test, page or script file that reads outside the repository', () => {
    const files = [...FOLDERS.flatMap(filesUnder), ...TOP_FILES].filter((file) => file !== SELF);
    expect(files.length).toBeGreaterThan(100);
    const offenders = files.flatMap((file) =>
      outsideReferences(ROOT, file, readFileSync(join(ROOT, file), 'utf8')).map(
        (hit) => `${file}: ${hit}`,
      ),
    );
    expect(offenders).toEqual([]);
  });

  it('ships the sample traces, their format and the workloads it measures', () => {
    for (const file of [
      'assets/traces/FORMAT.md',
      'assets/traces/python-compileall-small.trace.gz',
      'assets/traces/sqlite3-small.trace.gz',
      'assets/bench/WORKLOADS.md',
    ]) {
      expect(statSync(join(ROOT, file)).size, file).toBeGreaterThan(1000);
    }
  });
});
