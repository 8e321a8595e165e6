/**
 * Pre-flight checks on real volumes: the verdict against the JuiceFS counters and setting, with
 * JuiceFS's 4 KiB alignment; every role that can see the volume may ask; nothing is written by
 * any answer; a metadata engine that does not answer is a 503 within the deadline. Real
 * PostgreSQL, the local engine (and etcd, killed, for the deadline).
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdEngine } from '../../server/engines/etcd/etcd-engine.js';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { parseMetaUrl } from '../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { request } from '../support/api.js';
import { etcdAvailable, startEtcd, type TestEtcd } from '../support/etcd.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const MB = 1_000_000;

/** Row counts of every table of the app's schema (migrations' own bookkeeping included). */
async function rowCounts(t: TestApp): Promise<Record<string, number>> {
  const tables = await t.database.db('pg_tables').where({ schemaname: 'public' }).pluck('tablename');
  const out: Record<string, number> = {};
  for (const name of tables as string[]) out[name] = Number((await t.database.db(name).count<{ n: string }[]>({ n: '*' }))[0]!.n);
  return out;
}

describe.skipIf(!pgAvailable())('GET /v1/volumes/{id}/fit', () => {
  let t: TestApp;
  let store: LocalEngine;
  let admin: string;
  let engineer: string;
  let outsider: string;
  beforeAll(async () => {
    t = await createTestApp();
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    admin = `Bearer ${t.token('admin', 'root')}`;
    engineer = `Bearer ${t.token('engineer', 'eve', ['acme'])}`;
    outsider = `Bearer ${t.token('engineer', 'mallory', ['other'])}`;
    await buildTenant(t.http, admin, { id: 'acme' });
    await buildTenant(t.http, admin, { id: 'other' });
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
  });

  async function filled(name: string, bytes: number, quota: object) {
    const v = await buildVolume(t.http, admin, 'acme', { name, quota });
    const tv = new TkvVolume(store, parseMetaUrl(v.metaUrl).prefix);
    const fx = new FixtureBuilder(store, tv.keys);
    await fx.file(ROOT_INODE, 'data.bin', bytes);
    const counters = await fx.finish();
    return { id: v.id, tv, used: Number(counters.usedSpace), inodes: Number(counters.totalInodes) };
  }
  const fit = (id: string, query: string, auth = engineer) => request(t.http).get(`/v1/volumes/${id}/fit?${query}`).set('authorization', auth);

  it('answers on the live counters, charging whole 4 KiB blocks, and writes nothing', async () => {
    const v = await filled('ckpts', 50 * MB, { softBytes: 80 * MB, hardBytes: 100 * MB, graceSeconds: 3600 });
    const before = await rowCounts(t);
    const room = 100 * MB - v.used;
    // The largest single file that fits is the room rounded down to a block; one byte more needs another block.
    const largest = room - (room % 4096);
    expect(room % 4096).not.toBe(0); // 100 MB is not block-aligned, so the rounding matters here
    const ok = await fit(v.id, `bytes=${largest}`);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({
      volumeId: v.id,
      fits: true,
      blockedBy: [],
      state: 'ok',
      write: { bytes: largest, inodes: 1 },
      charged: { mostBytes: largest, leastBytes: largest, inodes: 1 },
      used: { bytes: v.used, inodes: v.inodes },
      after: { bytes: v.used + largest, inodes: v.inodes + 1 },
      room: { bytes: room, inodes: null },
      juicefs: { capacity: 100 * MB, inodes: 0 },
      // Just under the hard limit: over soft (a grace period would start), not frozen.
      soft: { crosses: true, alreadyOver: false, startsGrace: true },
      hard: { reaches: false, freezes: false },
    });
    expect(ok.body.charged.computation).toMatch(/4096 × \(ceil\(/);
    const tooBig = await fit(v.id, `bytes=${largest + 1}`);
    expect(tooBig.body).toMatchObject({ fits: false, fitsAtBest: false, blockedBy: ['juicefs_capacity', 'hard_bytes'], charged: { mostBytes: largest + 4096 } });

    // A checkpoint of 35 MB in 10 files crosses the soft limit and would start the grace period.
    const ckpt = await fit(v.id, `bytes=${35 * MB}&inodes=10`);
    expect(ckpt.body).toMatchObject({ fits: true, soft: { crosses: true, startsGrace: true }, charged: { inodes: 10, mostBytes: (Math.ceil((35 * MB) / 4096) + 9) * 4096 } });
    expect(Date.parse(ckpt.body.soft.graceEndsAt) - Date.now()).toBeGreaterThan(3_500_000);

    // The answers, refusals included, changed no table.
    expect((await fit(v.id, 'bytes=-1')).status).toBe(400);
    expect((await fit(v.id, 'inodes=3')).status).toBe(400);
    expect((await fit(v.id, 'bytes=1', outsider)).status).toBe(404);
    expect((await fit(v.id, 'bytes=1', `Bearer ${t.token('platform', 'ops')}`)).status).toBe(200);
    expect(await rowCounts(t)).toEqual(before);
  });

  it('a frozen volume fits nothing: the clamp JuiceFS holds and the freeze both say so', async () => {
    const v = await filled('full', 30 * MB, { softBytes: 10 * MB, hardBytes: 20 * MB });
    await t.services.enforcement.countersPass();
    const r = await fit(v.id, 'bytes=1');
    expect(r.body).toMatchObject({
      fits: false,
      state: 'frozen',
      blockedBy: ['frozen', 'juicefs_capacity', 'juicefs_inodes', 'hard_bytes'],
      juicefs: { capacity: v.used, inodes: v.inodes },
      room: { bytes: 0 },
      hard: { reaches: true, freezes: false },
    });
    expect((await v.tv.readSetting()).capacity).toBe(BigInt(v.used));
  });

  it('tells how long the volume lasts at its recent rate, before and after the write', async () => {
    const v = await filled('growing', 60 * MB, { hardBytes: 100 * MB });
    await t.database.db('usage_samples').where({ volume_id: v.id }).delete();
    // 10 MB a day for three days up to the current 60 MB.
    await t.database.db('usage_samples').insert([3, 2, 1].map((d) => ({ volume_id: v.id, resolution: 'raw', at: new Date(Date.now() - d * 86_400_000), bytes: v.used - d * 10 * MB, inodes: 1 })));
    const r = await fit(v.id, `bytes=${20 * MB}`);
    expect(r.body.lasts.bytesPerDay).toBeGreaterThan(9 * MB);
    expect(r.body.lasts.secondsToFull / 86_400).toBeCloseTo(4, 0);
    expect(r.body.lasts.secondsToFullAfterWrite / 86_400).toBeCloseTo(2, 0);
  });
});

describe.skipIf(!pgAvailable() || !etcdAvailable())('GET /v1/volumes/{id}/fit while etcd does not answer', () => {
  let etcd: TestEtcd;
  let t: TestApp;
  let engine: EtcdEngine;
  beforeAll(async () => {
    etcd = await startEtcd();
    engine = new EtcdEngine({ endpoints: [etcd.endpoint] });
    t = await createTestApp({ META_ENGINE: 'etcd', ETCD_ENDPOINTS: etcd.endpoint, META_TIMEOUT_MS: '1000' });
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await engine?.close();
    await etcd?.stop();
  });

  it('is 503 dependency_unavailable within the deadline, and writes nothing', async () => {
    const admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme' });
    const v = await buildVolume(t.http, admin, 'acme', { name: 'data', quota: { hardBytes: 20 * MB } });
    expect((await request(t.http).get(`/v1/volumes/${v.id}/fit?bytes=1`).set('authorization', admin)).body.fits).toBe(true);
    const before = await rowCounts(t);
    await etcd.kill();
    const t0 = Date.now();
    const r = await request(t.http).get(`/v1/volumes/${v.id}/fit?bytes=1`).set('authorization', admin);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect({ status: r.status, ...r.body }).toMatchObject({ status: 503, code: 'dependency_unavailable', dependency: 'metadata engine (etcd)' });
    expect(await rowCounts(t)).toEqual(before);
  }, 60_000);
});
