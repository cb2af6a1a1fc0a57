import { describe, expect, it } from 'vitest';
import { Machine } from '../../src/kernel/machine.js';

describe('Machine.boot', () => {
  it('boots a 256 MiB machine and runs a program', () => {
    const machine = Machine.boot({ memory: '256M' });
    const p = machine.spawn((ctx) => {
      const a = ctx.malloc(100);
      ctx.store32(a, 0xdeadbeef);
      return ctx.load32(a) === 0xdeadbeef ? 7 : 1;
    });
    machine.run();
    expect(machine.oopses.map((o) => o.message)).toEqual([]);
    expect(p.error).toBe(null);
    expect(p.fault).toBe(null);
    expect(p.signal).toBe(null);
    expect(p.exitCode).toBe(7);
    machine.check();
  });
});
