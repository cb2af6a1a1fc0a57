import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MEASURING_V8_FLAGS,
  measuringCommand,
  measuringNodeCommand,
} from '../../src/cli/measuring.js';

describe('a measuring process', () => {
  it('runs the command with its arguments, pinned to one CPU where taskset exists', () => {
    const args = ['-e', 'process.stdout.write(String(process.argv.length))', 'a b'];
    const [file, argv] = measuringCommand(process.execPath, args);
    expect(argv.slice(-args.length)).toEqual(args);
    if (existsSync('/usr/bin/taskset') || existsSync('/bin/taskset')) {
      expect(file).toMatch(/taskset$/);
      expect(argv.slice(0, 3)).toEqual(['-c', expect.stringMatching(/^\d+$/), process.execPath]);
    } else {
      expect([file, argv]).toEqual([process.execPath, args]);
    }
    // The command really runs, its arguments intact: node sees itself, the script's one.
    expect(execFileSync(file, argv, { encoding: 'utf8' })).toBe('2');
  });

  it('runs Node with the measuring V8 flags before the script', () => {
    const args = ['-e', 'process.stdout.write(JSON.stringify(process.execArgv))'];
    const [file, argv] = measuringNodeCommand(args);
    expect([file, argv]).toEqual(
      measuringCommand(process.execPath, [...MEASURING_V8_FLAGS, ...args]),
    );
    const seen = JSON.parse(execFileSync(file, argv, { encoding: 'utf8' })) as string[];
    expect(seen).toEqual([...MEASURING_V8_FLAGS, ...args]); // V8 saw the flags, then the script
  });
});
