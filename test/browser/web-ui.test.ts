/**
 * How Headroom serves the built dashboard (server/http/web-ui.ts): `/` redirects to /ui/, any
 * /ui/ path is the app (index.html, revalidated), hashed assets are cached for a year, a missing
 * asset is a 404, and the pages carry the same self-only Content-Security-Policy as the API
 * with no inline script in them. Needs PostgreSQL (a real app), not a browser.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import supertest from 'supertest';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findWebDist, webUiRouter } from '../../server/http/web-ui.js';
import express from 'express';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

describe.runIf(pgAvailable())('web dashboard serving', () => {
  let t: TestApp;
  const dist = findWebDist()!;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(async () => {
    await t?.close();
  });

  it('finds the build that global setup made', () => {
    expect(dist).toBe(path.resolve(import.meta.dirname, '../../web/dist'));
  });

  it('redirects / and /ui to /ui/', async () => {
    const root = await supertest(t.http).get('/');
    expect(root.status).toBe(302);
    expect(root.headers.location).toBe('/ui/');
    const ui = await supertest(t.http).get('/ui');
    expect(ui.status).toBe(301);
    expect(ui.headers.location).toBe('/ui/');
  });

  it('answers every app path with index.html, revalidated, under a self-only CSP with no inline script', async () => {
    const index = readFileSync(path.join(dist, 'index.html'), 'utf8');
    for (const p of ['/ui/', '/ui/volumes/vol_01jd0000000000000000000000', '/ui/admin/queue']) {
      const res = await supertest(t.http).get(p);
      expect(res.status, p).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/html/);
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.text).toBe(index);
      const csp = res.headers['content-security-policy'] as string;
      expect(csp).toContain("default-src 'self'");
      expect(csp).toMatch(/script-src 'self'(;|$)/);
    }
    // Scripts only as files of this origin: no inline code for the CSP to allow.
    expect(index).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);
    expect(index).not.toMatch(/\sstyle=|\son\w+=/);
    expect(index).toMatch(/<script type="module" crossorigin src="\/ui\/assets\/index-[\w-]+\.js">/);
  });

  it('caches hashed assets for a year and 404s a missing one', async () => {
    const js = readdirSync(path.join(dist, 'assets')).find((f) => f.endsWith('.js'))!;
    const res = await supertest(t.http).get(`/ui/assets/${js}`);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/javascript/);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const missing = await supertest(t.http).get('/ui/assets/index-gone.js');
    expect(missing.status).toBe(404);
    expect(missing.headers['cache-control']).toBe('no-store');
  });

  it('leaves the API as it was: /v1 still needs a token and answers problem+json', async () => {
    const res = await supertest(t.http).get('/v1/volumes');
    expect(res.status).toBe(401);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  });
});

describe('web dashboard without a build', () => {
  it('says how to build it instead of a bare 404', async () => {
    const app = express().use(webUiRouter(null));
    const res = await supertest(app).get('/ui/volumes/x');
    expect(res.status).toBe(404);
    expect(res.text).toMatch(/npm run build/);
    expect((await supertest(app).get('/')).headers.location).toBe('/ui/');
  });
});
