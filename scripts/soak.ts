/**
 * `npm run soak [-- --seconds 600]`: Headroom under mixed load for a while, on a real PostgreSQL
 * (DATABASE_URL, else 127.0.0.1:5432; a scratch database is created and dropped) and the local
 * metadata engine with real trees in it. Admin, platform and engineer principals call the API
 * in loops (reads, requests filed and cancelled, freezes and unfreezes, audit and notification
 * lists); the counters pass runs every few seconds through the jobs API, walks now and then,
 * notices go to a webhook receiver. It prints requests served, answers by status, p99 per
 * route and RSS over time, and exits 1 when a target is missed: any 5xx, an unexpected status,
 * RSS growing more than 10% over the second half, or handles left open after the stop.
 */
import { createServer, type Server } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { pino } from 'pino';
import { buildApp } from '../server/app.js';
import { signToken } from '../server/auth/tokens.js';
import { loadConfig } from '../server/config.js';
import { createDb } from '../server/db/database.js';
import { migrateLatest } from '../server/db/migrations.js';
import { LocalEngine } from '../server/engines/local/local-engine.js';
import { parseMetaUrl } from '../server/meta/meta-url.js';
import { FixtureBuilder } from '../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../server/meta/tkv/keys.js';
import { TkvVolume } from '../server/meta/tkv/tkv-volume.js';
import { LoadStats, worker, type Call } from './soak/load.js';

const arg = (name: string, fallback: number) =>
  Number(process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? process.argv[process.argv.indexOf(`--${name}`) + 1] ?? fallback) || fallback;
const seconds = arg('seconds', 600);
const engineers = arg('engineers', 4);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const listen = (s: Server) => new Promise<string>((r) => s.listen(0, '127.0.0.1', () => r(`http://127.0.0.1:${(s.address() as AddressInfo).port}`)));

/** Fills a volume with a small realistic tree: class folders of images and numbered checkpoints. */
async function fill(store: LocalEngine, metaUrl: string, seed: number): Promise<void> {
  const fx = new FixtureBuilder(store, new TkvVolume(store, parseMetaUrl(metaUrl).prefix).keys);
  const data = await fx.mkdir(ROOT_INODE, 'datasets');
  for (let c = 0; c < 10; c++) {
    const dir = await fx.mkdir(data, `class-${c}`);
    for (let i = 0; i < 50; i++) await fx.file(dir, `img-${i}.jpg`, 20_000 + ((seed * 7919 + i * 104_729) % 200_000));
  }
  const ckpt = await fx.mkdir(ROOT_INODE, 'checkpoints');
  for (let s = 1; s <= 5; s++) await fx.file(await fx.mkdir(ckpt, `step-${s * 1000}`), 'model.safetensors', 300_000_000 + seed * 1_000_000);
  await fx.finish();
}

async function main(): Promise<void> {
  let report: string[] = ['the soak did not finish'];
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `headroom_soak_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const dbUrl = new URL(adminUrl);
  dbUrl.pathname = `/${name}`;
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'headroom-soak-'));
  const db = createDb(dbUrl.toString(), 10);
  const notices = { received: 0 };
  const receiver = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      notices.received++;
      res.end('ok');
    });
  });
  const receiverUrl = await listen(receiver);
  let server: Server | undefined;
  let app: ReturnType<typeof buildApp> | undefined;
  try {
    await migrateLatest(db);
    const env = {
      DATABASE_URL: dbUrl.toString(),
      DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
      SCHEDULER_ENABLED: 'false',
      NOTIFY_POLL_MS: '500',
      OUTBOUND_ALLOW: '127.0.0.1',
      RATE_LIMIT_AUTHENTICATED: '0',
      DEFAULT_GRACE_SECONDS: '5',
    };
    const config = loadConfig(env);
    const secret = randomBytes(32).toString('hex');
    app = buildApp({ config, log: pino({ level: process.env.SOAK_LOG ?? 'silent' }), db, jwtSecret: secret, webhookSecret: secret });
    await app.start();
    server = app.http.listen(0, '127.0.0.1');
    await new Promise((r) => server!.once('listening', r));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const tok = (role: string, sub: string, tenants?: string[]) => signToken({ secret, issuer: config.auth.issuer }, { sub, role, ...(tenants ? { tenants } : {}) });
    const rootToken = tok('admin', 'soak-admin');
    const call = async (method: string, p: string, body?: object) => {
      const res = await fetch(base + p, { method, headers: { authorization: `Bearer ${rootToken}`, 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
      return (await res.json()) as Record<string, unknown>;
    };

    // Setup: one tenant per engineer, two volumes each, filled with trees; then a first pass.
    const store = new LocalEngine(config.meta.localPath);
    const volumes: { id: string; tenant: string; token: string }[] = [];
    for (let e = 0; e < engineers; e++) {
      const tenant = `team-${e}`;
      await call('POST', '/v1/tenants', { id: tenant, displayName: `Team ${e}`, email: `${tenant}@example.com`, webhookUrl: `${receiverUrl}/hook` });
      for (const v of ['data', 'runs']) {
        const vol = await call('POST', `/v1/tenants/${tenant}/volumes`, { name: v, quota: { softBytes: 1_500_000_000, hardBytes: 2_000_000_000 } });
        await fill(store, vol.metaUrl as string, e * 2 + (v === 'data' ? 0 : 1));
        volumes.push({ id: vol.id as string, tenant, token: tok('engineer', `eng-${e}`, [tenant]) });
      }
    }
    await store.close();
    await call('POST', '/v1/jobs/counters/runs');

    const stats = new LoadStats();
    const stop = new AbortController();
    const any = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
    const engineerCall = (v: (typeof volumes)[number]): Call =>
      any<Call>([
        { route: 'GET /v1/volumes', method: 'GET', path: '/v1/volumes', ok: [200] },
        { route: 'GET /v1/volumes/{id}', method: 'GET', path: `/v1/volumes/${v.id}`, ok: [200] },
        { route: 'GET usage', method: 'GET', path: `/v1/volumes/${v.id}/usage`, ok: [200] },
        { route: 'GET usage/history', method: 'GET', path: `/v1/volumes/${v.id}/usage/history`, ok: [200] },
        { route: 'GET enforcement', method: 'GET', path: `/v1/volumes/${v.id}/enforcement`, ok: [200] },
        { route: 'GET directories', method: 'GET', path: `/v1/volumes/${v.id}/directories?depth=2`, ok: [200] },
        { route: 'GET mount', method: 'GET', path: `/v1/volumes/${v.id}/mount`, ok: [200] },
        { route: 'GET notifications', method: 'GET', path: `/v1/notifications?volumeId=${v.id}`, ok: [200] },
        // Filed while one is pending: 409; above the ceiling or not an increase: 4xx, never 5xx.
        {
          route: 'POST quota-requests',
          method: 'POST',
          path: `/v1/volumes/${v.id}/quota-requests`,
          body: { hardBytes: 2_000_000_000 + Math.floor(Math.random() * 1e9), reason: 'soak growth' },
          ok: [201, 200, 409, 422],
        },
        { route: 'GET other tenant (404)', method: 'GET', path: `/v1/volumes/${any(volumes).id}`, ok: [200, 404] },
      ]);
    const adminCall = (): Call => {
      const v = any(volumes);
      return any<Call>([
        { route: 'GET /v1/volumes (admin)', method: 'GET', path: '/v1/volumes?limit=50', ok: [200] },
        { route: 'GET quota-requests', method: 'GET', path: '/v1/quota-requests?state=pending', ok: [200] },
        { route: 'GET audit', method: 'GET', path: '/v1/audit?limit=50', ok: [200] },
        { route: 'GET jobs', method: 'GET', path: '/v1/jobs', ok: [200] },
        { route: 'POST freeze', method: 'POST', path: `/v1/volumes/${v.id}/freeze`, body: { reason: 'soak freeze' }, ok: [200, 409] },
        { route: 'POST unfreeze', method: 'POST', path: `/v1/volumes/${v.id}/unfreeze`, body: { reason: 'soak unfreeze' }, ok: [200, 409] },
      ]);
    };
    const platform = tok('platform', 'soak-platform');
    const platformCall = (): Call =>
      any<Call>([
        { route: 'GET /v1/tenants', method: 'GET', path: '/v1/tenants', ok: [200] },
        { route: 'GET tenant', method: 'GET', path: `/v1/tenants/${any(volumes).tenant}`, ok: [200] },
      ]);

    const workers = [
      ...volumes.map((v) => worker(base, v.token, () => engineerCall(v), stats, stop.signal)),
      worker(base, rootToken, adminCall, stats, stop.signal),
      worker(base, platform, platformCall, stats, stop.signal),
    ];
    // Background work as production has it: passes every 3 s, a walk of some volume every 20 s,
    // pending requests cancelled or approved so new ones can be filed.
    const background = (async () => {
      let tick = 0;
      while (!stop.signal.aborted) {
        await sleep(3000);
        tick++;
        await call('POST', '/v1/jobs/counters/runs').catch(() => {});
        if (tick % 7 === 0) await call('POST', `/v1/volumes/${any(volumes).id}/walks`).catch(() => {});
        const pending = ((await call('GET', '/v1/quota-requests?state=pending').catch(() => ({ items: [] }))).items as { id: string }[]) ?? [];
        for (const r of pending.slice(0, 4)) await call('POST', `/v1/quota-requests/${r.id}/${tick % 2 ? 'deny' : 'cancel'}`, tick % 2 ? { reason: 'soak says no' } : undefined).catch(() => {});
      }
    })();

    const rss: { at: number; mb: number; heap?: number }[] = [];
    const started = Date.now();
    const warmup = Math.min(30, seconds / 4);
    while (Date.now() - started < seconds * 1000) {
      await sleep(1000);
      const at = Math.round((Date.now() - started) / 1000);
      // With --expose-gc, also the live heap after a full collection: the leak signal a short run
      // can judge (RSS keeps the allocator's and the JIT's warm-up growth for minutes).
      const gc = (globalThis as { gc?: () => void }).gc;
      gc?.();
      rss.push({ at, mb: process.memoryUsage().rss / 2 ** 20, heap: gc ? process.memoryUsage().heapUsed / 2 ** 20 : undefined });
      if (at % 30 === 0) console.log(`  ${at}s: ${stats.served} served, rss ${rss.at(-1)!.mb.toFixed(0)} MiB`);
    }
    stop.abort();
    await Promise.all([...workers, background]);

    // The report.
    const after = rss.filter((r) => r.at > warmup);
    const half = after.slice(Math.floor(after.length / 2));
    const growthOf = (v: (r: (typeof rss)[number]) => number | undefined) => (half.length > 1 && v(half[0]!) ? (v(half.at(-1)!)! - v(half[0]!)!) / v(half[0]!)! : 0);
    const growth = growthOf((r) => r.mb);
    const heapGrowth = growthOf((r) => r.heap);
    // RSS is judged on runs of two minutes or more; shorter ones judge the heap after GC instead.
    const judged = seconds >= 120 || heapGrowth === 0 ? { what: 'RSS', growth } : { what: 'heap after GC', growth: heapGrowth };
    console.log(`soak: ${seconds}s, ${volumes.length} volumes, ${engineers} engineers + admin + platform`);
    console.log(`  requests served  : ${stats.served} (${(stats.served / seconds).toFixed(0)}/s)`);
    console.log(
      `  by status        : ${[...stats.byStatus.entries()]
        .sort()
        .map(([s, n]) => `${s}=${n}`)
        .join(' ')}`,
    );
    console.log(`  notices received : ${notices.received} (webhook)`);
    console.log('  p99 per route    :');
    for (const r of stats.p99s()) console.log(`    ${r.route.padEnd(26)} ${r.p99.toFixed(1).padStart(7)} ms  (${r.calls} calls)`);
    console.log(
      `  rss MiB          : ${rss
        .filter((_, i) => i % Math.max(1, Math.floor(rss.length / 10)) === 0)
        .map((r) => `${r.at}s=${r.mb.toFixed(0)}`)
        .join(' ')}`,
    );
    console.log(
      `  rss growth over the second half after warm-up: ${(growth * 100).toFixed(1)}%${rss[0]?.heap !== undefined ? `; heap after GC: ${(heapGrowth * 100).toFixed(1)}%` : ''} (target < 10%, judged on ${judged.what})`,
    );
    const failures: string[] = [];
    if (stats.count5xx() > 0) failures.push(`${stats.count5xx()} answers were 5xx`);
    if (stats.unexpected.length) failures.push(`unexpected answers: ${stats.unexpected.slice(0, 5).join('; ')}`);
    if (judged.growth > 0.1) failures.push(`${judged.what} grew ${(judged.growth * 100).toFixed(1)}%`);
    if (stats.served === 0) failures.push('nothing was served');
    server.closeAllConnections();
    server.close();
    await app.close();
    app = undefined;
    report = failures;
  } finally {
    server?.close();
    await app?.close().catch(() => {});
    receiver.close();
    await db.destroy();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
    rmSync(dataDir, { recursive: true, force: true });
  }
  // Handles: with the app, its pools and the harness's own sockets closed, no socket may remain.
  await sleep(500);
  const left = process.getActiveResourcesInfo().filter((r) => r.startsWith('TCP') || r === 'PipeWrap');
  console.log(`  handles left     : ${left.join(', ') || 'none'}`);
  if (left.some((r) => r.startsWith('TCP'))) report.push(`sockets left open: ${left.join(', ')}`);
  console.log(report.length ? `  FAILED: ${report.join(' | ')}` : '  all targets met');
  if (report.length) process.exitCode = 1;
}

await main();
