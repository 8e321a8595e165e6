/**
 * Directory quotas' usage history and forecasts on real PostgreSQL and the local engine: the
 * scheduled counters job keeps a sample of each quota whose record it read (none for a failed
 * read, none for a still quota within the hour), the history and forecast endpoints show them to
 * the quota's owner and admins only, and the same job folds old samples as it folds volumes'.
 *
 * The clock is faked (Date only; timers stay real) so the samples' times, and the forecasts
 * drawn from them, are exact: passes six hours apart make the trend's days exact binary numbers.
 */
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { decodeDirQuota, encodeDirQuota } from '../../server/meta/tkv/records.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { runJobOk } from '../support/jobs.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const HOUR = 3_600_000;

describe.skipIf(!pgAvailable())('directory quota history and forecasts', () => {
  let t: TestApp;
  let store: LocalEngine; // a second connection to the app's local store, as a JuiceFS client would have
  let tv: TkvVolume;
  let volumeId: string;
  const ino: Record<string, bigint> = {};
  const quota: Record<string, string> = {};
  // Six passes' worth of hours before the real now, on an hour boundary (tokens stay valid).
  const t0 = Math.floor(Date.now() / HOUR) * HOUR - 24 * HOUR;
  const at = (hours: number) => new Date(t0 + hours * HOUR);
  const iso = (hours: number) => at(hours).toISOString();

  // Tokens are minted at the faked time they are used at.
  const as = (role: string, sub: string, tenants?: string[]) => `Bearer ${t.token(role, sub, tenants)}`;
  const admin = () => as('admin', 'root');
  const alice = () => as('engineer', 'alice', ['acme']);
  const api = () => request(t.http);
  const url = (q: string, sub: 'history' | 'forecast', query = '') => `/v1/volumes/${volumeId}/directory-quotas/${quota[q]}/${sub}${query}`;

  beforeAll(async () => {
    t = await createTestApp();
    await buildTenant(t.http, admin(), { id: 'acme' });
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    const vol = (await buildVolume(t.http, admin(), 'acme', { name: 'team' })) as unknown as { id: string; prefix: string };
    volumeId = vol.id;
    tv = new TkvVolume(store, Buffer.from(vol.prefix));
    const fx = new FixtureBuilder(store, tv.keys);
    const team = await fx.mkdir(ROOT_INODE, 'team');
    ino.alice = await fx.mkdir(team, 'alice');
    ino.bob = await fx.mkdir(team, 'bob');
    await fx.file(ino.bob, 'b1', 1);
    await fx.finish();
    const create = async (body: object) => {
      const res = await api().post(`/v1/volumes/${volumeId}/directory-quotas`).set('authorization', admin()).send(body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as string;
    };
    quota.alice = await create({ path: '/team/alice', softBytes: 3_500_000, hardBytes: 4_500_000, softInodes: 22, hardInodes: 100, ownerSub: 'alice' });
    quota.bob = await create({ path: '/team/bob', hardBytes: 1 << 20, ownerSub: 'bob' });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
  });

  /** What JuiceFS clients record as the subtree grows (the record's limits kept). */
  const use = async (dir: 'alice' | 'bob', bytes: number, inodes: number) => {
    const key = tv.keys.dirQuota(ino[dir]!);
    const rec = decodeDirQuota((await store.get(key))!, 'x');
    await store.txn(async (x) => x.put(key, encodeDirQuota({ ...rec, usedSpace: BigInt(bytes), usedInodes: BigInt(inodes) })));
  };
  /** The scheduled counters job, run at `hours` past t0. */
  const countersAt = async (hours: number) => {
    vi.setSystemTime(at(hours));
    return (await runJobOk(t.http, 'counters', admin())).counts;
  };
  const history = async (q: string, query = '') => {
    const res = await api()
      .get(url(q, 'history', query))
      .set('authorization', admin());
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body.samples as { at: string; bytes: number; inodes: number; resolution: string }[];
  };
  const raw = (hours: number, bytes: number, inodes: number, resolution = 'raw') => ({ at: iso(hours), bytes, inodes, resolution });

  it('keeps a sample per successful read while usage changes, none for a failed read, and forecasts each limit', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: at(0) });
    await use('alice', 1_000_000, 10);
    await use('bob', 4096, 1);
    expect(await countersAt(0)).toMatchObject({ 'directoryQuotas.evaluated': 2, 'directoryQuotas.sampled': 2 });

    // Bob's record vanishes (as after `juicefs quota delete`): his read fails, so he gets no sample.
    await use('alice', 1_500_000, 13);
    await store.txn(async (x) => x.delete(tv.keys.dirQuota(ino.bob!)));
    expect(await countersAt(6)).toMatchObject({ 'directoryQuotas.unknown': 1, 'directoryQuotas.sampled': 1 });

    await use('alice', 2_000_000, 16);
    await use('bob', 8192, 2); // the pass rewrote the record; clients count on
    expect(await countersAt(12)).toMatchObject({ 'directoryQuotas.unknown': 0, 'directoryQuotas.sampled': 2 });

    // Bob is still, but his last sample is six hours old: one is due anyway.
    await use('alice', 2_500_000, 19);
    expect(await countersAt(18)).toMatchObject({ 'directoryQuotas.sampled': 2 });

    // 2 MB and 12 inodes a day: 1 MB to the soft byte limit is half a day, 2 MB to the hard one a
    // day; 3 inodes to the soft inode limit a quarter of a day, 81 to the hard one 6.75 days.
    const f = await api().get(url('alice', 'forecast')).set('authorization', alice());
    expect(f.status, JSON.stringify(f.body)).toBe(200);
    expect(f.body).toEqual({
      quotaId: quota.alice,
      volumeId,
      at: iso(18),
      windowDays: 7,
      usage: { usedBytes: 2_500_000, usedInodes: 19, readAt: iso(18) },
      bytes: {
        soft: { fullAt: iso(30), secondsToFull: 12 * 3600, bytesPerDay: 2_000_000, samples: 4 },
        hard: { fullAt: iso(42), secondsToFull: 24 * 3600, bytesPerDay: 2_000_000, samples: 4 },
      },
      inodes: {
        soft: { fullAt: iso(24), secondsToFull: 6 * 3600, inodesPerDay: 12, samples: 4 },
        hard: { fullAt: iso(18 + 6.75 * 24), secondsToFull: 6.75 * 86_400, inodesPerDay: 12, samples: 4 },
      },
    });

    // Half an hour on, nothing moved: nothing is kept.
    expect(await countersAt(18.5)).toMatchObject({ 'directoryQuotas.evaluated': 2, 'directoryQuotas.sampled': 0 });
    expect(await history('alice')).toEqual([raw(0, 1_000_000, 10), raw(6, 1_500_000, 13), raw(12, 2_000_000, 16), raw(18, 2_500_000, 19)]);
    expect(await history('bob')).toEqual([raw(0, 4096, 1), raw(12, 8192, 2), raw(18, 8192, 2)]);
    // The window is [since, until); one resolution on request.
    expect(await history('alice', `?since=${encodeURIComponent(iso(6))}&until=${encodeURIComponent(iso(18))}`)).toEqual([raw(6, 1_500_000, 13), raw(12, 2_000_000, 16)]);
    expect(await history('alice', '?resolution=hour')).toEqual([]);

    // Bob's forecast: only a hard byte limit, and 4 KiB more over 18 h: a slow trend to it.
    const fb = await api().get(url('bob', 'forecast')).set('authorization', admin());
    expect(fb.body.bytes.soft).toBeNull();
    // Three samples and the reading now (newer than them all) draw the trend.
    expect(fb.body.bytes.hard).toMatchObject({ samples: 4 });
    expect(fb.body.bytes.hard.bytesPerDay).toBeGreaterThan(0);
    expect(fb.body.inodes).toEqual({ soft: null, hard: null });
  });

  it('shows history and forecasts to the quota owner and admins only', async () => {
    for (const sub of ['history', 'forecast'] as const) {
      expect((await api().get(url('alice', sub)).set('authorization', alice())).status).toBe(200);
      // Another engineer of the tenant does not own Bob's quota or Alice's.
      expect((await api().get(url('bob', sub)).set('authorization', alice())).status).toBe(404);
      expect(
        (
          await api()
            .get(url('alice', sub))
            .set('authorization', as('engineer', 'mallory', ['acme']))
        ).status,
      ).toBe(404);
      expect(
        (
          await api()
            .get(url('alice', sub))
            .set('authorization', as('engineer', 'alice', ['other']))
        ).status,
      ).toBe(404);
      expect((await api().get(url('alice', sub)).set('authorization', as('platform', 'ci'))).status).toBe(200);
    }
    const bad = await api()
      .get(url('alice', 'history', '?resolution=minute'))
      .set('authorization', admin());
    expect(bad.status).toBe(400);
  });

  it('folds samples older than two days into hourly maxima in the same job as volumes', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: at(72) });
    const counts = await countersAt(72);
    // The pass first keeps today's reading (the last raw one is days old), then the fold takes
    // every raw sample of t0's day into its hour: four of Alice's, three of Bob's.
    expect(counts).toMatchObject({ 'directoryQuotas.sampled': 2, 'directoryQuotas.samplesFolded': 7 });
    // `until` is exclusive and defaults to now: the sample taken at this instant needs a later one.
    expect(await history('alice', `?until=${encodeURIComponent(iso(73))}`)).toEqual([
      raw(0, 1_000_000, 10, 'hour'),
      raw(6, 1_500_000, 13, 'hour'),
      raw(12, 2_000_000, 16, 'hour'),
      raw(18, 2_500_000, 19, 'hour'),
      raw(72, 2_500_000, 19),
    ]);
    expect(await history('bob', '?resolution=hour')).toEqual([raw(0, 4096, 1, 'hour'), raw(12, 8192, 2, 'hour'), raw(18, 8192, 2, 'hour')]);
    expect((await countersAt(72.25))['directoryQuotas.samplesFolded']).toBe(0);
  });
});
