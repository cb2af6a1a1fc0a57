/**
 * The Chromium the browser tests drive: Debian's `/usr/bin/chromium` when it is installed,
 * else the build the `@sparticuz/chromium` devDependency ships inside its npm package
 * (brotli-compressed; `executablePath()` unpacks it to /tmp on first use, downloading nothing),
 * so `npm install && npm test` runs the browser tests on a machine with only Node and npm.
 */
import { existsSync } from 'node:fs';

const DEBIAN_CHROMIUM = '/usr/bin/chromium';

/**
 * Flags for a headless run as root on a closed network: no sandbox (root), no GPU, and none of
 * the background connections Chromium makes at start (they are refused here, many at a time).
 */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

/** Path of the Chromium binary to launch. */
export async function chromiumExecutable(): Promise<string> {
  if (existsSync(DEBIAN_CHROMIUM)) return DEBIAN_CHROMIUM;
  const { default: packaged } = await import('@sparticuz/chromium');
  return packaged.executablePath();
}
