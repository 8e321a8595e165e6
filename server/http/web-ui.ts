/**
 * Serves the web dashboard built by `npm run build` (Vite, into web/dist) at /ui/, and sends `/`
 * there. The pages are static: every figure they show comes from the same /v1 API and tokens.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type Router } from 'express';

const here = path.dirname(fileURLToPath(import.meta.url));

/**
 * Where the built pages are: next to the sources (server/http → web/dist) when run with tsx,
 * and the same folder when run from the compiled dist/server/http.
 */
export function findWebDist(): string | undefined {
  for (const dir of [path.resolve(here, '../../web/dist'), path.resolve(here, '../../../web/dist')]) {
    if (existsSync(path.join(dir, 'index.html'))) return dir;
  }
  return undefined;
}

/**
 * The /ui/ router. Hashed assets (/ui/assets/*) are cached for a year, since a new build gives
 * them new names; index.html is revalidated every time so a deploy is seen at once. Any other
 * /ui/ path is a page of the single-page app and gets index.html (the app routes in the browser).
 * Without a build, /ui/ says how to make one instead of a bare 404.
 */
export function webUiRouter(dist: string | null = findWebDist() ?? null): Router {
  // Strict: `/ui` (redirected) and `/ui/` (the app) are different paths, else the redirect loops.
  const router = express.Router({ strict: true });
  router.get('/', (_req, res) => {
    res.redirect(302, '/ui/');
  });
  router.get('/ui', (_req, res) => {
    res.redirect(301, '/ui/');
  });
  if (!dist) {
    router.get(['/ui/', '/ui/*rest'], (_req, res) => {
      res.status(404).type('text/plain').send('The web dashboard is not built: run `npm run build` (it builds web/ into web/dist).\n');
    });
    return router;
  }
  router.use(
    '/ui/assets',
    express.static(path.join(dist, 'assets'), {
      index: false,
      setHeaders: (res) => res.set('cache-control', 'public, max-age=31536000, immutable'),
    }),
  );
  // A missing asset is a 404, not index.html (a stale page asking for an old bundle must fail loudly).
  router.use('/ui/assets', (_req, res) => {
    res.status(404).set('cache-control', 'no-store').type('text/plain').send('no such asset\n');
  });
  router.use('/ui', express.static(dist, { index: false, setHeaders: (res) => res.set('cache-control', 'no-cache') }));
  router.get(['/ui/', '/ui/*rest'], (_req, res) => {
    res.set('cache-control', 'no-cache');
    res.sendFile(path.join(dist, 'index.html'));
  });
  return router;
}
