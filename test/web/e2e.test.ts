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
import type { Simulation } from '../../src/web/model/simulation.js';
import { WEB_WORKLOADS } from '../../src/web/model/workloads.js';
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

/** The fastest speed the slider offers. */
const TOP_SPEED = '10';
/** A whole run at the top speed takes a few seconds; a loaded machine gets room. */
const RUN_TIMEOUT_MS = 120_000;

/** Picks `memory` and `workload` (no boot: a change boots) and runs to the end at top speed. */
async function runToEnd(memory: string, workload: string): Promise<void> {
  await page.selectOption('#memory', memory);
  await page.selectOption('#workload', workload);
  await page.fill('#speed', TOP_SPEED);
  await page.click('#run');
  await page.waitForFunction(
    () => document.getElementById('status')?.dataset.finished === 'true',
    undefined,
    { timeout: RUN_TIMEOUT_MS },
  );
}

/** Picks `memory` and `workload` and runs `steps` steps with the step button. */
async function stepThrough(memory: string, workload: string, steps: number): Promise<void> {
  await page.selectOption('#memory', memory);
  await page.selectOption('#workload', workload);
  for (let i = 0; i < steps; i++) await page.click('#step');
}

/** Sets the fold checkbox. */
async function setFold(folded: boolean): Promise<void> {
  if ((await page.isChecked('#fold')) !== folded) await page.click('#fold');
}

/**
 * Cells whose canvas colour differs from the colour of what they show (at most 10, as text):
 * each frame's code unfolded, each fold cell's code folded.
 */
function frameMapMismatches(palette: number[]): Promise<string[]> {
  return page.evaluate((colours) => {
    const state: PageState = window.wallos;
    const canvas = document.getElementById('frames') as HTMLCanvasElement;
    const pixels = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height);
    const words = new Uint32Array(pixels.data.buffer);
    const { columns, cell } = state.frameMap.layout;
    const byLru = (document.getElementById('colour-by') as HTMLSelectElement).value === 'lru';
    // Coloured by LRU list, a user page on a list shows its list (codes 8..11 for states 1..4).
    const frameCodes = byLru
      ? state.frames.codes.map((code, pfn) =>
          state.frames.lru[pfn]! > 0 ? 7 + state.frames.lru[pfn]! : code,
        )
      : state.frames.codes;
    const codes = state.frameMap.fold?.codes ?? frameCodes;
    const wrong: string[] = [];
    for (let i = 0; i < codes.length && wrong.length < 10; i++) {
      const x = (i % columns) * cell;
      const y = Math.floor(i / columns) * cell;
      const shown = words[y * canvas.width + x];
      if (shown !== colours[codes[i]!]) wrong.push(`cell ${i}: ${shown} for code ${codes[i]}`);
    }
    return wrong;
  }, palette);
}

/** What every panel shows, beside the figures of the machine at the moment shown. */
function panelsAndMachine() {
  return page.evaluate(() => {
    const state: PageState = window.wallos;
    const { sim, moment } = state;
    const machine = sim.machine;
    const slabRows = [...document.querySelectorAll('#slab-table tr[data-cache]')].map((row) => {
      const cells = [...row.querySelectorAll('td')].map((td) => td.textContent ?? '');
      return `${cells[0]} ${cells[3]}`;
    });
    const slabCaches = machine.slab
      .caches()
      .filter((c) => c.slabCount > 0)
      .map(
        (c) =>
          `${c.name} ${c.activeObjects} / ${c.totalObjects}` +
          (c.arrayObjects > 0 ? ` (+${c.arrayObjects} in the CPU array)` : ''),
      );
    let freeCells = 0;
    for (const code of sim.snapshot.codes) if (code === 1) freeCells++;
    return {
      status: document.getElementById('status')!.textContent,
      runButton: document.getElementById('run')!.textContent,
      summary: document.getElementById('frame-summary')!.textContent,
      freeTitle: document.querySelector('#counter-charts .mini-title')!.textContent,
      processOptions: [...document.querySelectorAll('#process-select option')].map(
        (o) => o.textContent,
      ),
      vmaRows: document.querySelectorAll('#vmas tr.clickable').length,
      heap: document.getElementById('heap-summary')!.textContent,
      slabRows,
      machine: {
        steps: sim.steps,
        finished: sim.finished,
        free: machine.frames.freeFrames,
        freeCells,
        freeMiB: ((machine.frames.freeFrames * 4096) / 2 ** 20).toFixed(1),
        live: machine.processList.filter((p) => !p.ended).map((p) => `${p.pid} ${p.name}`),
        slabCaches,
        workload: sim.options.workload,
        momentStep: moment.step,
      },
    };
  });
}

describe('visualizer page', () => {
  it.each(WEB_WORKLOADS.map((w) => w.name))(
    '%s: picked without pressing boot, runs to its end; every panel agrees with the machine',
    async (workload) => {
      await runToEnd('64M', workload);
      const shown = await panelsAndMachine();
      const m = shown.machine;
      expect(m.workload).toBe(workload);
      expect(m.finished).toBe(true);
      expect(m.momentStep).toBe(m.steps);
      expect(shown.status).toBe(`step ${m.steps} · 0 processes · finished`);
      expect(shown.runButton).toBe('finished');
      expect(shown.summary).toMatch(new RegExp(`, ${m.free} free$`));
      expect(m.freeCells).toBe(m.free);
      expect(shown.freeTitle).toBe(`free: ${m.freeMiB} MiB`);
      expect(shown.processOptions).toEqual(m.live);
      expect(shown.vmaRows).toBe(0);
      expect(shown.heap).toBe('no process');
      expect(shown.slabRows).toEqual(m.slabCaches);
      expect(await frameMapMismatches(PALETTE)).toEqual([]);
    },
  );

  it('mid-run, the frame map shows every frame in the colour of what the allocator says it is', async () => {
    await stepThrough('64M', 'mixed', 60);
    for (const folded of [false, true]) {
      await setFold(folded);
      expect(await frameMapMismatches(PALETTE)).toEqual([]);
    }
    const shown = await panelsAndMachine();
    expect(shown.processOptions).toEqual(shown.machine.live);
    expect(shown.processOptions.length).toBeGreaterThan(0);
    expect(shown.slabRows).toEqual(shown.machine.slabCaches);
    expect(shown.status).toBe(
      `step ${shown.machine.steps} · ${shown.machine.live.length} processes`,
    );
    await page.screenshot({ path: `${ARTIFACTS}/web-64M-mixed.png`, fullPage: true });
  });

  it('right after boot, before start, each counter chart has an axis around its one value', async () => {
    await page.selectOption('#workload', 'fork-cow');
    const boot = await page.evaluate(() => ({
      steps: window.wallos.sim.steps,
      ranges: window.wallos.counterCharts.ranges(),
      free: window.wallos.moment.counters.freeBytes / 2 ** 20,
    }));
    expect(boot.steps).toBe(0);
    for (const { min, max } of Object.values(boot.ranges)) {
      expect(max).toBeGreaterThan(min);
      expect(min).toBeGreaterThanOrEqual(0);
    }
    expect(boot.ranges.freeBytes!.min).toBeLessThan(boot.free);
    expect(boot.ranges.freeBytes!.max).toBeGreaterThan(boot.free);
    expect(boot.ranges.freeBytes!.max - boot.ranges.freeBytes!.min).toBeLessThan(boot.free / 10);
    await stepThrough('64M', 'mixed', 60);
  });

  it('the counters chart gives every series its own scale around its values', async () => {
    const ranges = await page.evaluate(() => {
      const state: PageState = window.wallos;
      const samples = state.timeline.countersUpTo(state.shownIndex);
      const values = (key: 'freeBytes' | 'rssBytes' | 'slabBytes') =>
        samples.map((s) => s[key] / 2 ** 20);
      return {
        shown: state.counterCharts.ranges(),
        free: values('freeBytes'),
        rss: values('rssBytes'),
      };
    });
    for (const [key, data] of [
      ['freeBytes', ranges.free],
      ['rssBytes', ranges.rss],
    ] as const) {
      const { min, max } = ranges.shown[key]!;
      expect(min).toBeLessThanOrEqual(Math.min(...data));
      expect(max).toBeGreaterThanOrEqual(Math.max(...data));
      // Its own scale: the data spans a good part of the axis, not a sliver of 0..total.
      const span = Math.max(...data) - Math.min(...data);
      if (span > 0) expect(span / (max - min)).toBeGreaterThan(0.5);
    }
  });

  it('hovering a frame describes it, a folded run included', async () => {
    await setFold(false);
    const box = (await page.locator('#frame-overlay').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 4);
    const pfn = await page.evaluate(() => window.wallos.frameMap.hovered);
    expect(pfn).toBeGreaterThanOrEqual(0);
    expect(await page.textContent('#frame-details')).toContain(`frame ${pfn} at`);
    await setFold(true);
    const folded = await page.evaluate(() => {
      const { frameMap } = window.wallos;
      const fold = frameMap.fold!;
      const cell = fold.codes.indexOf(7);
      const { columns, cell: size } = frameMap.layout;
      return {
        x: (cell % columns) * size + size / 2,
        y: Math.floor(cell / columns) * size + size / 2,
        width: frameMap.layout.width,
        frames: fold.frameCount[cell],
      };
    });
    const scale = box.width / folded.width;
    const foldedBox = (await page.locator('#frame-overlay').boundingBox())!;
    await page.mouse.move(
      foldedBox.x + folded.x * (foldedBox.width / folded.width),
      foldedBox.y + folded.y * (foldedBox.width / folded.width),
    );
    expect(scale).toBeGreaterThan(0);
    expect(await page.textContent('#frame-details')).toContain(
      `${folded.frames} free frames folded`,
    );
  });

  it('page walk shows each level as the page tables in RAM hold it, every flag bit explained', async () => {
    await page.click('#vmas tr.clickable:has-text("[heap]")');
    const shown = await page.$$eval('#walk .walk-step', (steps) =>
      steps.map((s) => [(s as HTMLElement).dataset.level, (s as HTMLElement).dataset.raw]),
    );
    const expected = await page.evaluate(() => {
      const { sim, selectedPid, walkAddress } = window.wallos;
      const ram = sim.machine.ram;
      const names = ['', 'PT', 'PD', 'PDPT', 'PML4'];
      const rows: [string, string][] = [];
      let table = sim.machine.process(selectedPid!)!.space.tables.root;
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
    const titles = await page.$$eval('#walk .bit', (bits) =>
      bits.map((b) => (b as HTMLElement).title),
    );
    expect(titles.length).toBeGreaterThan(0);
    for (const title of titles) expect(title.length).toBeGreaterThan(20);
    const frame = await page.evaluate(() => {
      const { sim, selectedPid, frameMap } = window.wallos;
      const pfn = frameMap.marked;
      return { code: sim.snapshot.codes[pfn], owner: sim.snapshot.owners[pfn], pid: selectedPid };
    });
    expect([frame.pid, -1]).toContain(frame.owner);
    expect(frame.code).toBe(frame.owner === -1 ? FrameCode.USER_SHARED : userCode(frame.pid!));
    await page.locator('#process').screenshot({ path: `${ARTIFACTS}/web-walk.png` });
    await page.locator('#heap').screenshot({ path: `${ARTIFACTS}/web-heap.png` });
  });

  it('clicking a user frame walks the page tables of a process mapping it down to that frame', async () => {
    await setFold(false);
    await page.click('#zoom-reset');
    const target = await page.evaluate(() => {
      const { frames, frameMap } = window.wallos;
      const pfn = frames.owners.findIndex((owner) => owner > 0);
      const { columns, cell } = frameMap.layout;
      return {
        pfn,
        owner: frames.owners[pfn],
        x: (pfn % columns) * cell + cell / 2,
        y: Math.floor(pfn / columns) * cell + cell / 2,
        width: frameMap.layout.width,
      };
    });
    expect(target.pfn).toBeGreaterThanOrEqual(0);
    const box = (await page.locator('#frame-overlay').boundingBox())!;
    const scale = box.width / target.width;
    await page.mouse.click(box.x + target.x * scale, box.y + target.y * scale);
    const after = await page.evaluate(() => ({
      pid: window.wallos.selectedPid,
      marked: window.wallos.frameMap.marked,
      outcome: document.querySelector<HTMLElement>('#walk .walk-result')?.dataset.outcome,
    }));
    expect(after).toEqual({ pid: target.owner, marked: target.pfn, outcome: 'mapped' });
  });

  it('clicks every kind of frame, every VMA row and every process without an error', async () => {
    for (const folded of [true, false]) {
      await setFold(folded);
      const cells = await page.evaluate(() => {
        const { frameMap } = window.wallos;
        const codes = frameMap.fold?.codes ?? window.wallos.frames.codes;
        const { columns, cell } = frameMap.layout;
        const firstOfEach = new Map<number, number>();
        codes.forEach((code, i) => {
          if (!firstOfEach.has(code)) firstOfEach.set(code, i);
        });
        return {
          width: frameMap.layout.width,
          points: [...firstOfEach.values()].map((i) => [
            (i % columns) * cell + cell / 2,
            Math.floor(i / columns) * cell + cell / 2,
          ]),
        };
      });
      expect(cells.points.length).toBeGreaterThan(4);
      for (const [x, y] of cells.points) {
        const box = (await page.locator('#frame-overlay').boundingBox())!;
        const scale = box.width / cells.width;
        await page.mouse.click(box.x + x! * scale, box.y + y! * scale);
      }
    }
    const pids = await page.$$eval('#process-select option', (options) =>
      options.map((o) => (o as HTMLOptionElement).value),
    );
    for (const pid of pids) {
      await page.selectOption('#process-select', pid);
      const rows = await page.locator('#vmas tr.clickable').count();
      for (let i = 0; i < rows; i++) {
        await page.locator('#vmas tr.clickable').nth(i).click();
        expect(await page.locator('#walk .walk-result').count()).toBe(1);
      }
    }
    // The keyboard reaches a VMA row and walks it with Enter.
    await page.locator('#vmas tr.clickable').first().focus();
    await page.keyboard.press('Enter');
    expect(await page.locator('#walk .walk-result').count()).toBe(1);
  });

  it('slab view lists each cache with the counts the slab allocator holds, each column explained', async () => {
    const shown = await panelsAndMachine();
    expect(shown.slabRows).toEqual(shown.machine.slabCaches);
    expect(shown.slabRows.length).toBeGreaterThan(0);
    const titles = await page.$$eval('#slab-table th', (ths) =>
      ths.map((th) => (th as HTMLElement).title),
    );
    expect(titles.every((t) => t.length > 10)).toBe(true);
    await page.locator('#slabs').screenshot({ path: `${ARTIFACTS}/web-slabs.png` });
  });

  it('the timeline goes back to any step: every panel shows it as the machine was then', async () => {
    await runToEnd('64M', 'fork-cow');
    const last = Number(await page.getAttribute('#timeline', 'max'));
    expect(last).toBeGreaterThan(10);
    // The first moment with a copy-on-write break, as a learner would look for it.
    const cow = await page.evaluate(() => {
      const { timeline } = window.wallos;
      for (let i = 0; i < timeline.length; i++) {
        if (timeline.moment(i).counters.cowFaults > 0) return i;
      }
      return -1;
    });
    expect(cow).toBeGreaterThan(0);
    for (const index of [cow, Math.floor(last / 2), 0, last]) {
      await page.fill('#timeline', String(index));
      const check = await page.evaluate(() => {
        const state: PageState = window.wallos;
        const slider = document.getElementById('timeline') as HTMLInputElement;
        const Sim = state.sim.constructor as typeof Simulation;
        const step = state.moment.step;
        const replica = Sim.replayed(state.sim.options, step);
        let differing = 0;
        for (let pfn = 0; pfn < replica.snapshot.frames; pfn++) {
          if (replica.snapshot.codes[pfn] !== state.frames.codes[pfn]) differing++;
          if (replica.snapshot.owners[pfn] !== state.frames.owners[pfn]) differing++;
          if (replica.snapshot.blockOrder[pfn] !== state.frames.blockOrder[pfn]) differing++;
        }
        return {
          index: state.shownIndex,
          slider: Number(slider.value),
          step,
          differing,
          status: document.getElementById('status')!.textContent,
          processes: document.querySelectorAll('#process-select option').length,
          live: replica.processes.length,
          free: replica.machine.frames.freeFrames,
          summary: document.getElementById('frame-summary')!.textContent,
        };
      });
      expect([check.index, check.slider]).toEqual([index, index]);
      expect(check.differing).toBe(0);
      expect(check.status).toMatch(new RegExp(`^step ${check.step} · `));
      expect(check.processes).toBe(check.live);
      expect(check.summary).toMatch(new RegExp(`, ${check.free} free$`));
    }
    // Back at the COW break: click every VMA row of a process that has ended by now.
    await page.fill('#timeline', String(cow + 1));
    const rows = await page.locator('#vmas tr.clickable').count();
    expect(rows).toBeGreaterThan(0);
    for (let i = 0; i < rows; i++) await page.locator('#vmas tr.clickable').nth(i).click();
    expect(await page.getAttribute('#walk .walk-result', 'data-outcome')).toBeTruthy();
    // The walk replayed the machine of that moment: hovering its frames now tells references.
    await setFold(false);
    const user = await page.evaluate(() => {
      const { frames, frameMap } = window.wallos;
      const pfn = frames.owners.findIndex((owner) => owner > 0);
      const { columns, cell } = frameMap.layout;
      return {
        x: (pfn % columns) * cell + cell / 2,
        y: Math.floor(pfn / columns) * cell + cell / 2,
        width: frameMap.layout.width,
      };
    });
    const box = (await page.locator('#frame-overlay').boundingBox())!;
    const scale = box.width / user.width;
    await page.mouse.move(box.x + user.x * scale, box.y + user.y * scale);
    expect(await page.textContent('#frame-details')).toMatch(/references: \d+/);
    await page.click('#live');
    expect(await page.textContent('#status')).toMatch(/finished$/);
  });

  it('zooms and pans the frame map with the wheel, a drag, the keyboard and the buttons', async () => {
    await setFold(false);
    await page.click('#zoom-reset');
    const box = (await page.locator('#frame-viewport').boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
    await page.mouse.wheel(0, -300);
    const zoomed = await page.evaluate(() => window.wallos.frameMap.zoom);
    expect(zoomed).toBeGreaterThan(1);
    await page.mouse.down();
    await page.mouse.move(box.x + box.width / 2 - 80, box.y + box.height / 2 - 40, { steps: 5 });
    await page.mouse.up();
    const panned = await page.evaluate(() => [
      window.wallos.frameMap.panX,
      window.wallos.frameMap.panY,
    ]);
    expect(panned[0]).toBeLessThan(0);
    await page.focus('#frame-viewport');
    await page.keyboard.press('+');
    expect(await page.evaluate(() => window.wallos.frameMap.zoom)).toBeGreaterThan(zoomed);
    await page.keyboard.press('0');
    expect(await page.evaluate(() => window.wallos.frameMap.zoom)).toBe(1);
    await page.click('#zoom-in');
    expect(await page.evaluate(() => window.wallos.frameMap.zoom)).toBeGreaterThan(1);
    await page.click('#zoom-reset');
  });

  it('fits a 900 px wide window: nothing overflows, the map and charts stay in their panels', async () => {
    await page.setViewportSize({ width: 900, height: 1000 });
    await page.waitForTimeout(200);
    const layout = await page.evaluate(() => {
      const inside = (id: string, containerId: string) => {
        const r = document.getElementById(id)!.getBoundingClientRect();
        const c = document.getElementById(containerId)!.getBoundingClientRect();
        return r.left >= c.left - 1 && r.right <= c.right + 1;
      };
      return {
        scrollWidth: document.documentElement.scrollWidth,
        map: inside('frame-viewport', 'physical'),
        buddy: inside('buddy-chart', 'charts'),
        counters: inside('counter-charts', 'charts'),
      };
    });
    expect(layout).toEqual({ scrollWidth: 900, map: true, buddy: true, counters: true });
    await page.screenshot({ path: `${ARTIFACTS}/web-900px.png`, fullPage: true });
    // And back: the charts shrink again with their panels.
    await page.setViewportSize({ width: 1600, height: 1400 });
    await page.waitForTimeout(200);
    const wide = await page.evaluate(() => ({
      scrollWidth: document.documentElement.scrollWidth,
      counters:
        document.getElementById('counter-charts')!.getBoundingClientRect().right <=
        document.getElementById('charts')!.getBoundingClientRect().right + 1,
    }));
    expect(wide).toEqual({ scrollWidth: 1600, counters: true });
  });

  it('a 4 GiB machine gets one pixel a frame unfolded and a correct map', async () => {
    await setFold(false);
    await stepThrough('4G', 'mixed', 8);
    const layout = await page.evaluate(() => ({ ...window.wallos.frameMap.layout }));
    expect(layout.columns).toBe(1024);
    expect(layout.cell).toBe(1);
    expect(await frameMapMismatches(PALETTE)).toEqual([]);
    await setFold(true);
    expect(await frameMapMismatches(PALETTE)).toEqual([]);
    await page.screenshot({ path: `${ARTIFACTS}/web-4G.png`, fullPage: true });
  });

  it('under memory pressure: pages on the LRU lists, the swap device and si/so/scan charts', async () => {
    await page.selectOption('#memory', '64M');
    await page.selectOption('#workload', 'swap-pressure');
    await page.fill('#speed', TOP_SPEED);
    await page.click('#run');
    await page.waitForFunction(
      () => (window.wallos.moment.swap?.usedSlots ?? 0) > 1000,
      undefined,
      {
        timeout: RUN_TIMEOUT_MS,
      },
    );
    await page.click('#run');
    await page.selectOption('#colour-by', 'lru');
    for (const folded of [false, true]) {
      await setFold(folded);
      expect(await frameMapMismatches(PALETTE)).toEqual([]);
    }
    const shown = await page.evaluate(() => {
      const { sim } = window.wallos;
      const reclaim = sim.machine.vm.reclaim!;
      let onLists = 0;
      for (const state of window.wallos.frames.lru) if (state === 1 || state === 2) onLists++;
      return {
        summary: document.getElementById('swap-summary')!.textContent,
        visible: !document.getElementById('swap')!.hidden,
        used: reclaim.device.usedSlots,
        usable: reclaim.device.usableSlots,
        tracked: reclaim.policy.size,
        onLists,
        charts: [...document.querySelectorAll('#counter-charts .mini-chart')]
          .filter((c) => !(c as HTMLElement).hidden)
          .map((c) => (c as HTMLElement).dataset.series),
      };
    });
    expect(shown.visible).toBe(true);
    expect(shown.summary).toMatch(new RegExp(`^${shown.used} of ${shown.usable} slots in use`));
    expect(shown.onLists).toBe(shown.tracked);
    expect(shown.charts).toEqual(expect.arrayContaining(['swapOuts', 'swapIns', 'scanned']));
    expect(await page.textContent('#legend')).toContain('inactive list');
    await page.screenshot({ path: `${ARTIFACTS}/web-swap.png`, fullPage: true });
    await page.selectOption('#colour-by', 'owner');
    expect(await page.textContent('#legend')).not.toContain('inactive list');
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
    // The lab is a tab of its own beside the machine view.
    await page.click('#view-tabs [data-view="lab"]');
    expect(await page.isVisible('#view-machine')).toBe(false);
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
    await page.click('#view-tabs [data-view="machine"]');
    expect(await page.isVisible('#lab')).toBe(false);
    expect(pageErrors).toEqual([]);
  });
});
