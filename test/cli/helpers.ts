/**
 * Running the built `wallos-mem` binary as a child process. The binary is rebuilt first when
 * any source file is newer than it (`npm test` builds anyway; a lone `vitest run test/cli`
 * would otherwise test a stale build).
 */
import { type ChildProcessWithoutNullStreams, execFileSync, spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const BINARY = join(ROOT, 'dist', 'cli', 'main.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const time = entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs;
    newest = Math.max(newest, time);
  }
  return newest;
}

/** Builds `dist/` when it is missing or older than `src/`. */
export function ensureBuilt(): void {
  let built = 0;
  try {
    built = statSync(BINARY).mtimeMs;
  } catch {
    // not built yet
  }
  if (built >= newestSource(join(ROOT, 'src'))) return;
  try {
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', 'tsconfig.build.json'], {
      cwd: ROOT,
      stdio: 'pipe',
    });
  } catch {
    // Another layer's work in progress may not type-check; tsc still emits every file.
  }
  statSync(BINARY);
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `wallos-mem ARGS`, feeding `input` on stdin; resolves when it exits. */
export function cli(
  args: readonly string[],
  options: { input?: string; env?: Record<string, string> } = {},
): Promise<CliResult> {
  const child = start(args, options.env);
  child.stdin.end(options.input ?? '');
  return finished(child);
}

/** Starts `wallos-mem ARGS` without waiting (for driving the shell line by line). */
export function start(
  args: readonly string[],
  env: Record<string, string> = {},
): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BINARY, ...args], {
    cwd: ROOT,
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
}

/** A child's output as it arrives, and its result once it exits. */
export interface LiveOutput {
  stdout(): string;
  stderr(): string;
  done: Promise<CliResult>;
}

/** Collects a child's output, readable while it runs, until it exits. */
export function collect(child: ChildProcessWithoutNullStreams): LiveOutput {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const done = new Promise<CliResult>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return { stdout: () => stdout, stderr: () => stderr, done };
}

/** Collects a child's output until it exits. */
export function finished(child: ChildProcessWithoutNullStreams): Promise<CliResult> {
  return collect(child).done;
}
