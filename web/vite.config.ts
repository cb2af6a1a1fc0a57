import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const repo = fileURLToPath(new URL('..', import.meta.url));

/** The visualizer: the page is `src/web/index.html` (loading `main.ts`); builds into `dist/web/`. */
export default defineConfig({
  root: fileURLToPath(new URL('../src/web', import.meta.url)),
  base: './',
  server: { host: '127.0.0.1', fs: { allow: [repo] } },
  preview: { host: '127.0.0.1' },
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 1024,
  },
});
