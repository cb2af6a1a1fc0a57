/**
 * procfs reads the kernel only through the read-only KernelView the Machine hands it, and no
 * file of procfs imports the Machine.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PAGE_SIZE } from '../../src/hw/constants.js';
import { Machine } from '../../src/kernel/machine.js';
import { MAP_ANONYMOUS, MAP_PRIVATE, PROT_READ, PROT_WRITE } from '../../src/linux-abi.js';
import type { KernelView } from '../../src/procfs/kernel-view.js';
import { ProcFs } from '../../src/procfs/procfs.js';

const PROCFS = new URL('../../src/procfs/', import.meta.url);

describe('the kernel view of procfs', () => {
  it('is all procfs needs: a view copied member by member reads exactly like the machine', () => {
    const machine = Machine.boot({ memory: '32M' });
    const files: Record<string, [string, string]> = {};
    machine.spawn(function* (ctx) {
      const area = ctx.mmap(0, 8 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS);
      ctx.fill(area, 8 * PAGE_SIZE, 1);
      yield;
      const view: KernelView = {
        frames: machine.frames,
        vm: machine.vm,
        slab: machine.slab,
        watermarks: machine.watermarks,
        totalPages: machine.totalPages,
        oomKills: machine.oomKills,
        randomizeVaSpace: machine.randomizeVaSpace,
        current: machine.current,
        processList: machine.processList,
        process: (pid) => machine.process(pid),
        atCpl0: (work) => machine.atCpl0(work),
      };
      const copy = new ProcFs(view);
      for (const path of [...machine.procfs.list(), '/proc/self/maps'])
        files[path] = [machine.procfs.read(path), copy.read(path)];
    });
    machine.run();
    expect(Object.keys(files).length).toBeGreaterThan(8);
    for (const [path, [theirs, ours]] of Object.entries(files)) expect(ours, path).toBe(theirs);
    expect(files['/proc/self/maps']![0]).not.toBe('');
  });

  it('is the only way in: no procfs file imports the Machine', () => {
    const importers = readdirSync(PROCFS).filter((file) =>
      /from '\.\.\/kernel\/machine\.js'/.test(readFileSync(new URL(file, PROCFS), 'utf8')),
    );
    expect(importers).toEqual([]);
  });
});
