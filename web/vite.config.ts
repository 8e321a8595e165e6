/**
 * Builds the dashboard into web/dist, served by Headroom at /ui/ (server/http/web-ui.ts).
 * `npm run dev:web` serves it with hot reload and proxies /v1 to a running Headroom
 * (HEADROOM_URL, default http://localhost:8080), so the pages talk to the real API.
 */
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const api = process.env.HEADROOM_URL ?? 'http://localhost:8080';

export default defineConfig({
  root: import.meta.dirname,
  base: '/ui/',
  plugins: [react()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    // Everything in files: the CSP allows scripts and styles from this origin only, nothing inline.
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
  server: { proxy: { '/v1': { target: api, changeOrigin: true } } },
});
