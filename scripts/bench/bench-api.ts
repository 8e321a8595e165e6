/**
 * `npm run bench:api`: requests/s and p99 of `GET /v1/volumes/{id}` (auth, validation, a
 * PostgreSQL read, presentation) next to two bare express routes served by this process: one
 * returning a constant, one doing the same primary-key read with `pg` and returning the row.
 * Measured in the same run by autocannon in a child process (so the load generator does not
 * steal the server's event loop). Prints both ratios; target ≥ 0.7 of the bare PostgreSQL route
 * and p99 < 25 ms at 50 connections.
 *
 * Database: DATABASE_URL's server, else 127.0.0.1:5432, else an embedded cluster is not started
 * (use `DATABASE_URL`). A scratch database is created and dropped.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import express from 'express';
import pg from 'pg';
import { pino } from 'pino';
import { buildApp } from '../../server/app.js';
import { loadConfig } from '../../server/config.js';
import { createDb } from '../../server/db/database.js';
import { migrateLatest } from '../../server/db/migrations.js';

const run = promisify(execFile);
const seconds = Number(process.argv.find((a) => a.startsWith('--seconds='))?.split('=')[1] ?? 10);
const connections = 50;

interface Result {
  rps: number;
  p99: number;
  non2xx: number;
}

async function autocannon(url: string, headers: Record<string, string>): Promise<Result> {
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  const args = [bin, '-j', '-c', String(connections), '-d', String(seconds)];
  for (const [k, v] of Object.entries(headers)) args.push('-H', `${k}=${v}`);
  const { stdout } = await run(process.execPath, [...args, url], { maxBuffer: 10 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p99: number }; non2xx: number };
  return { rps: r.requests.average, p99: r.latency.p99, non2xx: r.non2xx };
}

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const name = `headroom_bench_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  const db = createDb(url.toString(), 20);
  try {
    await migrateLatest(db);
    // Rate limits are lifted: the bench measures the request path, not the limiter's 429s.
    const config = loadConfig({ DATABASE_URL: url.toString(), LOG_LEVEL: 'silent', DATA_DIR: '/tmp/headroom-bench', RATE_LIMIT_AUTHENTICATED: '100000000' });
    const secret = randomBytes(32).toString('hex');
    const app = buildApp({ config, log: pino({ level: 'silent' }), db, jwtSecret: secret, webhookSecret: secret });
    const actor = { sub: 'bench', role: 'admin' };
    await app.services.tenants.create(actor, { id: 'bench', displayName: 'Bench', email: 'b@example.com' });
    const { volume } = await app.services.volumes.create(actor, 'bench', { name: 'vol' });
    const { signToken } = await import('../../server/auth/tokens.js');
    const token = signToken({ secret, issuer: config.auth.issuer }, { sub: 'bench', role: 'admin' });

    const bare = express();
    bare.get('/constant', (_req, res) => {
      res.json({ ok: true });
    });
    // The same read the API does at its core, on a pool of the same size, with nothing around it.
    const pool = new pg.Pool({ connectionString: url.toString(), max: 20 });
    bare.get('/volumes/:id', async (req, res) => {
      const { rows } = await pool.query({ name: 'volume-by-id', text: 'SELECT * FROM volumes WHERE id = $1', values: [req.params.id] });
      if (rows.length) res.json(rows[0]);
      else res.status(404).end();
    });
    const s1 = app.http.listen(0, '127.0.0.1');
    const s2 = bare.listen(0, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 100));
    const base = (s: typeof s1) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;

    const baseline = await autocannon(`${base(s2)}/constant`, {});
    const barePg = await autocannon(`${base(s2)}/volumes/${volume.id}`, {});
    const api = await autocannon(`${base(s1)}/v1/volumes/${volume.id}`, { authorization: `Bearer ${token}` });
    s1.close();
    s2.close();
    await pool.end();
    console.log(`bench:api  ${connections} connections, ${seconds}s each`);
    console.log(`  bare express constant    : ${baseline.rps.toFixed(0)} req/s, p99 ${baseline.p99} ms`);
    console.log(`  bare express + pg read   : ${barePg.rps.toFixed(0)} req/s, p99 ${barePg.p99} ms, non-2xx ${barePg.non2xx}`);
    console.log(`  GET /v1/volumes/{id}     : ${api.rps.toFixed(0)} req/s, p99 ${api.p99} ms, non-2xx ${api.non2xx}`);
    console.log(`  ratio api/bare constant  : ${(api.rps / baseline.rps).toFixed(2)}`);
    console.log(`  ratio api/bare pg read   : ${(api.rps / barePg.rps).toFixed(2)} (target >= 0.7); p99 target < 25 ms`);
    if (api.non2xx > 0 || barePg.non2xx > 0) process.exitCode = 1;
  } finally {
    await db.destroy();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

await main();
