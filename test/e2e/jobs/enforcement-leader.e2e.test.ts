/**
 * Two Headroom instances on one PostgreSQL and one Redis: exactly one enforces at a time, a dead
 * leader is replaced within the lease time, and a leader that lost its lease stops before it
 * writes anything. Also the jobs API.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { request } from '../../support/api.js';
import { buildTenant } from '../../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../../../server/app.js';
import { loadConfig } from '../../../server/config.js';
import { LeaseLostError, RedisLease } from '../../../server/jobs/lease.js';
import { parseMetaUrl } from '../../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../../server/meta/tkv/tkv-volume.js';
import { LocalEngine } from '../../../server/engines/local/local-engine.js';
import { pgAvailable } from '../../support/pg.js';
import { redisAvailable, redisClient, redisUrl } from '../../support/redis.js';
import { createTestApp, testSecret, testWebhookSecret, type TestApp } from '../../support/test-app.js';

const available = pgAvailable() && (await redisAvailable());
const REDIS_DB = 13;
const TTL = 1500;

describe.skipIf(!available)('enforcement leadership across instances (PostgreSQL + Redis)', () => {
  let a: TestApp;
  let b: ReturnType<typeof buildApp>;
  let bDir: string;
  let store: LocalEngine;
  let admin: string;
  const redis = () => redisClient(REDIS_DB);

  beforeAll(async () => {
    const r = redis();
    await r.flushdb();
    await r.quit();
    const env = { REDIS_URL: `${redisUrl}/${REDIS_DB}`, LEASE_TTL_MS: String(TTL) };
    a = await createTestApp(env);
    // Instance B: the same database and Redis, its own process state.
    bDir = await mkdtemp(path.join(os.tmpdir(), 'headroom-b-'));
    const config = loadConfig({ DATA_DIR: bDir, DATABASE_URL: a.database.url, LOG_LEVEL: 'silent', SCHEDULER_ENABLED: 'false', ...env });
    b = buildApp({ config, log: pino({ level: 'silent' }), db: a.database.db, jwtSecret: testSecret, webhookSecret: testWebhookSecret });
    admin = `Bearer ${a.token('admin', 'root')}`;
    await buildTenant(a.http, admin, { id: 'acme', displayName: 'Acme', email: 'acme@example.com' });
    store = new LocalEngine(path.join(a.dataDir, 'meta.db'));
  });
  afterAll(async () => {
    await b?.close();
    await store?.close();
    await a?.close();
    await rm(bDir, { recursive: true, force: true });
  });

  /** A volume over its hard limit: enforcing it means one transition and one JuiceFS write. */
  async function overHard(name: string) {
    const res = await request(a.http)
      .post('/v1/tenants/acme/volumes')
      .set('authorization', admin)
      .send({ name, quota: { hardBytes: 1_000_000 } });
    const tv = new TkvVolume(store, parseMetaUrl(res.body.metaUrl).prefix);
    const fx = new FixtureBuilder(store, tv.keys);
    await fx.file(ROOT_INODE, 'big', 3_000_000);
    const used = await fx.finish();
    return { id: res.body.id as string, tv, used };
  }
  const transitions = async (id: string) => Number((await a.database.db('enforcement_transitions').where({ volume_id: id }).count('* as n'))[0]!.n);

  it('two instances triggered together: exactly one enforces, the other records a skip', async () => {
    const v = await overHard('both');
    const [ra, rb] = await Promise.all([a.services.scheduler.trigger('counters', 'schedule'), b.services.scheduler.trigger('counters', 'schedule')]);
    expect([ra.state, rb.state].sort(), String(ra.error ?? rb.error)).toEqual(['skipped', 'succeeded']);
    const winner = ra.state === 'succeeded' ? ra : rb;
    expect(winner.counts).toMatchObject({ frozen: 1 });
    expect(await transitions(v.id)).toBe(1);
    expect((await v.tv.readSetting()).capacity).toBe(v.used.usedSpace);
  });

  it('when the leader dies, another instance takes over within the lease time', async () => {
    // A leader that took the lease and died: the key stays until its TTL runs out.
    const r = redis();
    const dead = new RedisLease(r, 'enforcement', TTL);
    expect(await dead.acquire()).toBe(true);
    const diedAt = Date.now();
    const v = await overHard('takeover');
    expect((await b.services.scheduler.trigger('counters', 'schedule')).state).toBe('skipped');
    expect(await transitions(v.id)).toBe(0);
    let took = 0;
    for (;;) {
      const res = await b.services.scheduler.trigger('counters', 'schedule');
      if (res.state === 'succeeded') {
        took = Date.now() - diedAt;
        break;
      }
      await new Promise((res) => setTimeout(res, 100));
    }
    expect(took).toBeLessThan(TTL + 1000);
    expect(await transitions(v.id)).toBe(1);
    await r.quit();
  });

  it('a leader that lost its lease stops before writing', async () => {
    const v = await overHard('lost');
    const r = redis();
    const lease = new RedisLease(r, 'enforcement-lost', TTL);
    expect(await lease.acquire()).toBe(true);
    // Another instance's token replaces ours (our lease expired while we were paused).
    await r.set('headroom:lease:enforcement-lost', 'someone-else', 'PX', TTL);
    await new Promise((res) => setTimeout(res, TTL * 0.8 + 50)); // past our local safety deadline
    await expect(a.services.enforcement.countersPass({ lease })).rejects.toBeInstanceOf(LeaseLostError);
    expect(await transitions(v.id)).toBe(0);
    expect((await v.tv.readSetting()).capacity).toBe(1_000_000n);
    await r.quit();
  });

  it('the jobs API triggers a run, reports it, and lists the last runs', async () => {
    const res = await request(a.http).post('/v1/jobs/enforce/runs').set('authorization', admin);
    expect(res.status).toBe(202);
    expect(res.headers.location).toBe(`/v1/jobs/enforce/runs/${res.body.id}`);
    let run = res.body;
    for (let i = 0; i < 100 && run.state === 'running'; i++) {
      await new Promise((r) => setTimeout(r, 50));
      run = (await request(a.http).get(String(res.headers.location)).set('authorization', admin)).body;
    }
    expect(run.state).toBe('succeeded');
    expect(run.counts.volumes).toBeGreaterThanOrEqual(3);
    const list = await request(a.http).get('/v1/jobs').set('authorization', admin);
    expect(list.status).toBe(200);
    expect(list.body.items.map((j: { name: string }) => j.name)).toEqual(['counters', 'enforce', 'reconcile', 'walks', 'digest']);
    expect(list.body.items[1].lastRuns[0].id).toBe(run.id);
    const engineer = `Bearer ${a.token('engineer', 'e', ['acme'])}`;
    await request(a.http).get('/v1/jobs').set('authorization', engineer).expect(403);
    await request(a.http).post('/v1/jobs/nope/runs').set('authorization', admin).expect(400);
  });
});
