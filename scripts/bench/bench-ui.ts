/**
 * `npm run bench:ui`: the web dashboard's cost, measured in one run.
 *
 * 1. Bundle: the bytes the first page loads (index.html and the JS and CSS it names), raw and
 *    gzipped (target ≤ 250 KB gzipped).
 * 2. In Debian's Chromium (playwright-core, headless), against a real Headroom on PostgreSQL
 *    with 10,000 volumes: time from navigation to a usable fleet page (its first 50 rows drawn,
 *    target < 1 s) and to a usable volume page (the "why" and the chart drawn, target < 500 ms),
 *    each next to the time its API calls took (the browser's own resource timings). Cold is the
 *    first load in a fresh profile; warm is the median of five reloads (assets from cache).
 *
 * Database: DATABASE_URL's server, else 127.0.0.1:5432; a scratch database is created and dropped.
 * The volumes are registered with SQL, as bench-enforce does (formatting 10,000 JuiceFS volumes
 * would measure the engine, not the pages); the one the volume page shows is created for real.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import pg from 'pg';
import { pino } from 'pino';
import { chromium, type Page } from 'playwright-core';
import { ulid } from 'ulid';
import { buildApp } from '../../server/app.js';
import { signToken } from '../../server/auth/tokens.js';
import { loadConfig } from '../../server/config.js';
import { createDb } from '../../server/db/database.js';
import { migrateLatest } from '../../server/db/migrations.js';

const root = path.resolve(import.meta.dirname, '../..');
const dist = path.join(root, 'web/dist');
const N = Number(process.argv.find((a) => a.startsWith('--volumes='))?.split('=')[1] ?? 10_000);
const GB = 1_000_000_000n;
const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;

/** The first page's files and their sizes. */
function bundle(): { raw: number; gzip: number; files: string[] } {
  if (!existsSync(path.join(dist, 'index.html'))) execFileSync('npm', ['run', '-s', 'build:web'], { cwd: root, stdio: 'inherit' });
  const html = readFileSync(path.join(dist, 'index.html'));
  const files = [...html.toString().matchAll(/(?:src|href)="\/ui\/([^"]+)"/g)].map((m) => m[1]!);
  const bodies = [html, ...files.map((f) => readFileSync(path.join(dist, f)))];
  return { raw: bodies.reduce((a, b) => a + b.length, 0), gzip: bodies.reduce((a, b) => a + gzipSync(b, { level: 9 }).length, 0), files };
}

/** Navigates and waits until `ready` (run in the page) returns true; ms since navigation start, and the /v1 calls' time. */
async function timeTo(page: Page, url: string, ready: { selectors: string[]; rows: number }): Promise<{ usable: number; api: number; calls: number }> {
  await page.goto(url, { waitUntil: 'commit' });
  // Functions, not strings: the page's CSP forbids eval, and Playwright evaluates strings with it.
  const handle = await page.waitForFunction(
    ({ selectors, rows }) => {
      const g = globalThis as unknown as { document: { querySelectorAll(s: string): { length: number } }; performance: { now(): number } };
      return selectors.every((s) => g.document.querySelectorAll(s).length >= rows) ? g.performance.now() : false;
    },
    ready,
    { polling: 'raf', timeout: 30_000 },
  );
  const usable = (await handle.jsonValue()) as number;
  // The calls' span: from the first /v1 request's start to the last one's end.
  const api = await page.evaluate(() => {
    type Entry = { name: string; startTime: number; responseEnd: number };
    const g = globalThis as unknown as { performance: { getEntriesByType(t: string): Entry[] } };
    const e = g.performance.getEntriesByType('resource').filter((r) => new URL(r.name).pathname.startsWith('/v1/'));
    return e.length ? { span: Math.max(...e.map((r) => r.responseEnd)) - Math.min(...e.map((r) => r.startTime)), calls: e.length } : { span: 0, calls: 0 };
  });
  return { usable, api: api.span, calls: api.calls };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const b = bundle();
  console.log(`bench:ui  first page: ${b.files.length + 1} files, ${kb(b.raw)} raw, ${kb(b.gzip)} gzipped (target <= 250 KB)`);

  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `headroom_bench_ui_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), 10);
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-bench-ui-'));
  const profile = mkdtempSync(path.join(os.tmpdir(), 'headroom-bench-ui-chromium-'));
  try {
    await migrateLatest(db);
    const config = loadConfig({ DATABASE_URL: url.toString(), DATA_DIR: dataDir, LOG_LEVEL: 'silent', SCHEDULER_ENABLED: 'false', RATE_LIMIT_AUTHENTICATED: '100000000' });
    const secret = randomBytes(32).toString('hex');
    const app = buildApp({ config, log: pino({ level: 'silent' }), db, jwtSecret: secret, webhookSecret: secret });
    const actor = { sub: 'bench', role: 'admin' };
    await app.services.tenants.create(actor, { id: 'bench', displayName: 'Bench', email: 'b@example.com' });
    const { volume } = await app.services.volumes.create(actor, 'bench', { name: 'shown', quota: { softBytes: 80e9, hardBytes: 100e9 } });
    for (let i = 0; i < N; i += 1000) {
      const part = Array.from({ length: Math.min(1000, N - i) }, (_, j) => ({ id: `vol_${ulid().toLowerCase()}`, prefix: `b${String(i + j).padStart(6, '0')}` }));
      await db('volume_prefixes').insert(part.map((v) => ({ prefix: v.prefix, volume_id: v.id })));
      await db('volumes').insert(
        part.map((v) => ({
          id: v.id,
          tenant_id: 'bench',
          name: v.prefix,
          prefix: v.prefix,
          engine: 'local',
          meta_url: `local://${dataDir}/meta.db?prefix=${v.prefix}`,
          state: 'active',
          soft_bytes: String(100n * GB),
          hard_bytes: String(120n * GB),
          grace_seconds: 604_800,
          request_hash: 'bench',
        })),
      );
    }
    const server = app.http.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const token = signToken({ secret, issuer: config.auth.issuer }, { sub: 'bench', role: 'admin' });
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-dev-shm-usage'],
    });
    try {
      const page = await context.newPage();
      const fleetReady = { selectors: ['main tbody tr'], rows: 50 };
      const volumeReady = { selectors: ['.why-sentence', 'figure.chart svg polyline'], rows: 1 };
      const fleet = [await timeTo(page, `${base}/ui/#token=${token}`, fleetReady)];
      for (let i = 0; i < 5; i++) fleet.push(await timeTo(page, `${base}/ui/`, fleetReady));
      const vol = [await timeTo(page, `${base}/ui/volumes/${volume.id}`, volumeReady)];
      for (let i = 0; i < 5; i++) vol.push(await timeTo(page, `${base}/ui/volumes/${volume.id}`, volumeReady));
      const line = (what: string, r: { usable: number; api: number; calls: number }[], target: number) => {
        const warm = r.slice(1);
        console.log(
          `  ${what}: cold ${r[0]!.usable.toFixed(0)} ms (API ${r[0]!.api.toFixed(0)} ms), warm median ${median(warm.map((x) => x.usable)).toFixed(0)} ms (API ${median(warm.map((x) => x.api)).toFixed(0)} ms, ${r[0]!.calls} calls) (target < ${target} ms)`,
        );
      };
      console.log(`  ${N + 1} volumes in the fleet; times from navigation start to usable`);
      line('fleet page ', fleet, 1000);
      line('volume page', vol, 500);
    } finally {
      await context.close();
      server.close();
    }
  } finally {
    await db.destroy();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(profile, { recursive: true, force: true });
  }
}

await main();
