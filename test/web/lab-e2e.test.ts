/**
 * End to end, the page-replacement lab: the built page in headless Chromium (see chromium.ts),
 * its replays run in the Web Worker, checked against the same replays in Node.
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
import { CHROMIUM_ARGS, chromiumExecutable } from './chromium.js';

const ARTIFACTS = 'test-artifacts';

let outDir: string;
let server: WebServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'wallos-lab-web-'));
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
  mkdirSync(ARTIFACTS, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  rmSync(outDir, { recursive: true, force: true });
});

/** The number of answers the lab has had, then a wait for the next one. */
async function nextAnswer(action: () => Promise<void>): Promise<LabState['answer']> {
  const before = await page.evaluate(() => window.wallosLab?.answers ?? 0);
  await action();
  await page.waitForFunction((n) => window.wallosLab.answers > n, before);
  return page.evaluate(() => window.wallosLab.answer);
}

describe('page-replacement lab', () => {
  it('plots the cpp sample as Node replays it, and finds the anomaly in Belady string', async () => {
    await page.waitForFunction(() => (window.wallosLab?.answers ?? 0) > 0);
    const first = await page.evaluate(() => window.wallosLab.answer);
    const cpp = parsePageTrace(readFileSync('assets/pagetraces/cpp.trace'));
    const sizes = Array.from({ length: 60 }, (_, i) => (i + 1) * 10);
    expect(first).toMatchObject({ ok: true, refs: 9047, distinct: 1223 });
    expect(first!.ok && first!.results).toEqual(replayPolicies(cpp, POLICY_NAMES, sizes));
    await page.locator('#lab').screenshot({ path: `${ARTIFACTS}/web-lab-cpp.png` });

    const belady = await nextAnswer(() =>
      page.selectOption('#lab-sample', 'belady').then(() => {}),
    );
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
