import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type WebServer } from '../../src/cli/serve.js';

let base: string;
let server: WebServer;

/** A raw request (the path is sent as given, not normalised as fetch would). */
function get(
  path: string,
  method = 'GET',
): Promise<{ status: number; type: string; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => {
        body += chunk;
      });
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'] ?? '', body }),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  base = mkdtempSync(join(tmpdir(), 'wallos-serve-'));
  const root = join(base, 'web');
  mkdirSync(join(root, 'assets'), { recursive: true });
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>page</title>');
  writeFileSync(join(root, 'assets', 'app.js'), 'export {};');
  writeFileSync(join(base, 'secret.txt'), 'secret');
  server = await startServer({ port: 0, root });
});

afterAll(async () => {
  await server?.close();
  rmSync(base, { recursive: true, force: true });
});

describe('serve', () => {
  it('listens on 127.0.0.1 and serves the page and its assets with their types', async () => {
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/`);
    const page = await get('/');
    expect([page.status, page.type, page.body]).toEqual([
      200,
      'text/html; charset=utf-8',
      '<!doctype html><title>page</title>',
    ]);
    const script = await get('/assets/app.js?v=1');
    expect([script.status, script.type]).toEqual([200, 'text/javascript; charset=utf-8']);
  });

  it('never serves a file outside its folder', async () => {
    for (const path of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/..%2f..%2fsecret.txt']) {
      const reply = await get(path);
      expect(reply.status).toBe(404);
      expect(reply.body).not.toContain('secret');
    }
  });

  it('answers 404 for missing files, 400 for undecodable paths, 405 for other methods', async () => {
    expect((await get('/nothing.js')).status).toBe(404);
    expect((await get('/%E0%A4%A')).status).toBe(400);
    expect((await get('/', 'POST')).status).toBe(405);
  });

  it('rejects a bad port and a folder without a built page', async () => {
    await expect(startServer({ port: 70000, root: base })).rejects.toMatchObject({
      code: 'EINVAL',
    });
    await expect(startServer({ port: 0, root: base })).rejects.toMatchObject({
      code: 'WEB_NOT_BUILT',
    });
  });
});
