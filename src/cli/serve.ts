/**
 * `wallos-mem serve`: serves the built visualizer (`dist/web/`) on 127.0.0.1. The whole
 * simulator runs in the browser; this server only hands out static files.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InvalidArgumentError, WallosError } from '../errors.js';

/** Only the loopback interface: the page is for the person at this machine. */
const HOST = '127.0.0.1';
const HIGHEST_PORT = 65535;
const HTTP_OK = 200;
const HTTP_NOT_FOUND = 404;
const HTTP_BAD_METHOD = 405;
const HTTP_BAD_REQUEST = 400;

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.map': 'application/json',
};

/** The visualizer has not been built (`npm run build:web`), so there is nothing to serve. */
export class WebNotBuiltError extends WallosError {
  constructor(root: string) {
    super('WEB_NOT_BUILT', `no visualizer in ${root}: build it with \`npm run build:web\``);
  }
}

/** Options of {@link serve} and {@link startServer}. */
export interface ServeOptions {
  /** TCP port; 0 picks a free one. */
  port: number;
  /** Folder of the built page; default `../web/` beside this module (`dist/web/`). */
  root?: string;
}

/** A server started by {@link startServer}. */
export interface WebServer {
  /** `http://127.0.0.1:PORT/` */
  readonly url: string;
  readonly port: number;
  close(): Promise<void>;
}

function defaultRoot(): string {
  return fileURLToPath(new URL('../web/', import.meta.url));
}

/**
 * Starts serving the built page; resolves once listening.
 * @throws InvalidArgumentError for a port outside 0..65535; WebNotBuiltError when the root
 *   has no index.html.
 */
export async function startServer(options: ServeOptions): Promise<WebServer> {
  const { port } = options;
  if (!Number.isInteger(port) || port < 0 || port > HIGHEST_PORT) {
    throw new InvalidArgumentError(`port ${port} is not an integer in 0..${HIGHEST_PORT}`);
  }
  const root = normalize(options.root ?? defaultRoot());
  if (!existsSync(join(root, 'index.html'))) throw new WebNotBuiltError(root);
  const server = createServer((request, response) => {
    void respond(root, request.method ?? 'GET', request.url ?? '/')
      .catch(() => BAD_REQUEST)
      .then(({ status, type, body }) => {
        response.writeHead(status, { 'content-type': type, 'cache-control': 'no-cache' });
        response.end(body);
      });
  });
  await listen(server, port);
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://${HOST}:${actual}/`,
    port: actual,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

function listen(server: Server, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, HOST, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

interface Reply {
  status: number;
  type: string;
  body: string | Uint8Array;
}

/** What a request whose path cannot be decoded gets. */
const BAD_REQUEST: Reply = { status: HTTP_BAD_REQUEST, type: 'text/plain', body: 'bad request\n' };

/** The file a request asks for, never outside `root`. */
async function respond(root: string, method: string, url: string): Promise<Reply> {
  if (method !== 'GET' && method !== 'HEAD') {
    return { status: HTTP_BAD_METHOD, type: 'text/plain', body: 'method not allowed\n' };
  }
  const path = decodeURIComponent(new URL(url, 'http://localhost').pathname);
  const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
  if (file !== root && !file.startsWith(root.endsWith(sep) ? root : root + sep)) {
    return { status: HTTP_NOT_FOUND, type: 'text/plain', body: 'not found\n' };
  }
  try {
    const body = await readFile(file);
    const type = CONTENT_TYPES[extname(file)] ?? 'application/octet-stream';
    return { status: HTTP_OK, type, body: method === 'HEAD' ? '' : body };
  } catch {
    return { status: HTTP_NOT_FOUND, type: 'text/plain', body: 'not found\n' };
  }
}

/**
 * The `serve` subcommand: serves the visualizer on 127.0.0.1:`port` and prints its address.
 * Resolves once listening; the server then keeps the process alive until it is stopped.
 */
export async function serve(options: ServeOptions): Promise<void> {
  const server = await startServer(options);
  process.stdout.write(`wallos-memory visualizer: ${server.url}\n`);
}
