/**
 * End to end: the built page in headless Chromium (Debian's, or the one an npm devDependency
 * ships: see chromium.ts), driven by playwright-core and checked against the simulator state it
 * exposes on `window.wallos`. Screenshots go to test-artifacts/.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type WebServer } from '../../src/cli/serve.js';
import { replayPolicies } from '../../src/replacement/lab.js';
import { parsePageTrace } from '../../src/replacement/page-trace.js';
import { POLICY_NAMES } from '../../src/replacement/policy.js';
import type { LabState } from '../../src/web/lab/lab-view.js';
import type { PageState } from '../../src/web/main.js';
import {
  colourOf,
  FRAME_CODE_COUNT,
  FrameCode,
  packRgba,
  userCode,
} from '../../src/web/model/frame-colours.js';
import { CHROMIUM_ARGS, chromiumExecutable } from './chromium.js';

const ARTIFACTS = 'test-artifacts';

/** Packed colour of each frame code, as the test expects the canvas to show them. */
const PALETTE = Array.from({ length: FRAME_CODE_COUNT }, (_, code) => packRgba(colourOf(code)));

let outDir: string;
let server: WebServer;
let browser: Browser;
let page: Page;
/** Uncaught exceptions and console errors of the page, over the whole file. */
const pageErrors: string[] = [];

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'wallos-web-'));
  await build({
    configFile: 'web/vite.config.ts',
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
  server = await startServer({ port: 0, root: outDir });
  browser = await chromium.launch({
    executablePath: await chromiumExecutable(),
    args: CHROMIUM_ARGS,
  });
  page = await browser.newPage({ viewport: { width: 1600, height: 1400 } });
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(message.text());
  });
  await page.goto(server.url);
  await page.waitForFunction(() => (window.wallos?.redraws ?? 0) > 0);
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(outDir, { recursive: true, force: true });
});

/** Boots `memory` with `workload` through the controls and runs `steps` scheduler steps. */
async function bootAndRun(
  memory: string,
  workload: string,
  steps: number,
  speed: number,
): Promise<void> {
  await page.selectOption('#memory', memory);
  await page.selectOption('#workload', workload);
  await page.click('#boot');
  await page.fill('#speed', String(speed));
  await page.click('#run');
  await page.waitForFunction(
    (n) => window.wallos.sim.steps >= n || window.wallos.sim.finished,
    steps,
  );
  await page.click('#run');
  await page.click('#step');
}

/** Frames whose canvas colour differs from their code's colour (at most 10, as text). */
function frameMapMismatches(palette: number[]): Promise<string[]> {
  return page.evaluate((colours) => {
    const state: PageState = window.wallos;
    const canvas = document.getElementById('frames') as HTMLCanvasElement;
    const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const words = new Uint32Array(pixels.data.buffer);
    const { columns, cell } = state.frameMap.layout;
    const codes = state.sim.snapshot.codes;
    const wrong: string[] = [];
    for (let pfn = 0; pfn < codes.length && wrong.length < 10; pfn++) {
      const x = (pfn % columns) * cell;
      const y = Math.floor(pfn / columns) * cell;
      const shown = words[y * canvas.width + x];
      if (shown !== colours[codes[pfn]!])
        wrong.push(`frame ${pfn}: ${shown} for code ${codes[pfn]}`);
    }
    return wrong;
  }, palette);
}

describe('visualizer page', () => {
  it('frame map shows every frame in the colour of what the allocator says it is', async () => {
    await bootAndRun('64M', 'mixed', 120, 6);
    expect(await frameMapMismatches(PALETTE)).toEqual([]);
    const agree = await page.evaluate(() => {
      const { sim } = window.wallos;
      const uses = sim.machine.frames.stats().framesByUse;
      let free = 0;
      for (const code of sim.snapshot.codes) if (code === 1) free++;
      return { free, allocatorFree: uses[0], running: sim.processes.length };
    });
    expect(agree.free).toBe(agree.allocatorFree);
    expect(agree.running).toBeGreaterThan(0);
    await page.screenshot({ path: `${ARTIFACTS}/web-64M-mixed.png`, fullPage: true });
  });

  it('hovering a frame describes it', async () => {
    const box = (await page.locator('#frame-overlay').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 4);
    const details = await page.textContent('#frame-details');
    const pfn = await page.evaluate(() => window.wallos.frameMap.hovered);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(details).toContain(`frame ${pfn} at`);
  });

  it('page walk shows each level as the page tables in RAM hold it', async () => {
    await page.click('#vmas tr.clickable:has-text("[heap]")');
    const shown = await page.$$eval('#walk .walk-step', (steps) =>
      steps.map((s) => [(s as HTMLElement).dataset.level, (s as HTMLElement).dataset.raw]),
    );
    const expected = await page.evaluate(() => {
      const { sim, selected, walkAddress } = window.wallos;
      const ram = sim.machine.ram;
      const names = ['', 'PT', 'PD', 'PDPT', 'PML4'];
      const rows: [string, string][] = [];
      let table = selected!.space.tables.root;
      for (let level = 4; level >= 1; level--) {
        const index = Math.floor(walkAddress! / 2 ** (12 + 9 * (level - 1))) % 512;
        const low = ram.load32(table + index * 8) >>> 0;
        const high = ram.load32(table + index * 8 + 4) >>> 0;
        rows.push([
          names[level]!,
          high.toString(16).padStart(8, '0') + low.toString(16).padStart(8, '0'),
        ]);
        if ((low & 1) === 0 || (level > 1 && (low & 0x80) !== 0)) break;
        table = (high & 0x3fff) * 2 ** 32 + ((low & 0xfffff000) >>> 0);
      }
      return rows;
    });
    expect(shown).toEqual(expected);
    expect(expected).toHaveLength(4);
    expect(await page.getAttribute('#walk .walk-result', 'data-outcome')).toBe('mapped');
    const frame = await page.evaluate(() => {
      const { sim, selected, frameMap } = window.wallos;
      const pfn = frameMap.marked;
      return { code: sim.snapshot.codes[pfn], owner: sim.snapshot.owners[pfn], pid: selected!.pid };
    });
    expect([frame.pid, -1]).toContain(frame.owner);
    expect(frame.code).toBe(frame.owner === -1 ? FrameCode.USER_SHARED : userCode(frame.pid));
    await page.locator('#process').screenshot({ path: `${ARTIFACTS}/web-walk.png` });
    await page.locator('#heap').screenshot({ path: `${ARTIFACTS}/web-heap.png` });
  });

  it('clicking a user frame walks the page tables of a process mapping it down to that frame', async () => {
    const target = await page.evaluate(() => {
      const { sim, frameMap } = window.wallos;
      const owners = sim.snapshot.owners;
      const pfn = owners.findIndex((owner) => owner > 0);
      const { columns, cell } = frameMap.layout;
      return {
        pfn,
        owner: owners[pfn],
        x: (pfn % columns) * cell + cell / 2,
        y: Math.floor(pfn / columns) * cell + cell / 2,
      };
    });
    expect(target.pfn).toBeGreaterThanOrEqual(0);
    const box = (await page.locator('#frame-overlay').boundingBox())!;
    const scale = box.width / (await page.evaluate(() => window.wallos.frameMap.layout.width));
    await page.mouse.click(box.x + target.x * scale, box.y + target.y * scale);
    const after = await page.evaluate(() => ({
      pid: window.wallos.selected?.pid,
      marked: window.wallos.frameMap.marked,
      outcome: document.querySelector<HTMLElement>('#walk .walk-result')?.dataset.outcome,
    }));
    expect(after).toEqual({ pid: target.owner, marked: target.pfn, outcome: 'mapped' });
  });

  it('slab view lists each cache with the counts the slab allocator holds', async () => {
    const shown = await page.$$eval('#slab-table tr[data-cache]', (rows) =>
      rows.map((row) => {
        const cells = [...row.querySelectorAll('td')].map((td) => td.textContent ?? '');
        return {
          name: cells[0],
          objects: cells[3],
          slabs: Number(cells[4]) + Number(cells[5]) + Number(cells[6]),
        };
      }),
    );
    const expected = await page.evaluate(() =>
      window.wallos.sim.machine.slab
        .caches()
        .filter((c) => c.slabCount > 0)
        .map((c) => ({
          name: c.name,
          objects:
            `${c.activeObjects} / ${c.totalObjects}` +
            (c.arrayObjects > 0 ? ` (+${c.arrayObjects} in the CPU array)` : ''),
          slabs: c.slabCount,
        })),
    );
    expect(shown).toEqual(expected);
    expect(shown.length).toBeGreaterThan(0);
    await page.locator('#slabs').screenshot({ path: `${ARTIFACTS}/web-slabs.png` });
  });

  it('a 4 GiB machine gets one pixel a frame and a correct map', async () => {
    await bootAndRun('4G', 'mixed', 16, 2);
    const layout = await page.evaluate(() => ({ ...window.wallos.frameMap.layout }));
    expect(layout.columns).toBe(1024);
    expect(layout.cell).toBe(1);
    expect(await frameMapMismatches(PALETTE)).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/web-4G.png`, fullPage: true });
  });

  it('logged no error along the way', () => {
    expect(pageErrors).toEqual([]);
  });
});

describe('page-replacement lab', () => {
  /** Runs `action`, then waits for the lab's next answer (its replays run in a Web Worker). */
  async function nextAnswer(action: () => Promise<unknown>): Promise<LabState['answer']> {
    const before = await page.evaluate(() => window.wallosLab.answers);
    await action();
    await page.waitForFunction((n) => window.wallosLab.answers > n, before);
    return page.evaluate(() => window.wallosLab.answer);
  }

  it('plots the cpp sample as Node replays it and finds the anomaly in Belady string', async () => {
    await page.waitForFunction(() => (window.wallosLab?.answers ?? 0) > 0);
    const first = await page.evaluate(() => window.wallosLab.answer);
    const cpp = parsePageTrace(readFileSync('assets/pagetraces/cpp.trace'));
    const sizes = Array.from({ length: 60 }, (_, i) => (i + 1) * 10);
    expect(first).toMatchObject({ ok: true, refs: 9047, distinct: 1223 });
    expect(first!.ok && first!.results).toEqual(replayPolicies(cpp, POLICY_NAMES, sizes));
    await page.locator('#lab').screenshot({ path: `${ARTIFACTS}/web-lab-cpp.png` });

    const belady = await nextAnswer(() => page.selectOption('#lab-sample', 'belady'));
    expect(belady!.ok && belady!.anomalies).toEqual([
      { smaller: 3, larger: 4, missesSmaller: 9, missesLarger: 10 },
    ]);
    expect(await page.textContent('#lab .lab-summary')).toContain('3 → 4 frames (9 → 10 misses)');

    const bad = await nextAnswer(async () => {
      await page.fill('#lab-frames', '0');
      await page.click('#lab-plot');
    });
    expect(bad).toEqual({
      ok: false,
      error: expect.stringMatching(/'0' is not a number of frames/),
    });
    expect(pageErrors).toEqual([]);
  });
});
