/**
 * JuiceFS 1.4 user and group quotas' usage history and forecasts on real PostgreSQL and the local
 * engine: the counters job samples their records (`QU`/`QG`) as it samples directories', and
 * `…/user-quotas/{id}` and `…/group-quotas/{id}` answer `/history` and `/forecast` in the
 * directory endpoints' shapes, to the same people, and only for a quota of their own kind.
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
import { userGroupKey } from '../../server/meta/tkv/ug-quota-records.js';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { runJobOk } from '../support/jobs.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const HOUR = 3_600_000;
const collection = { user: 'user-quotas', group: 'group-quotas', dir: 'directory-quotas' } as const;
type Kind = keyof typeof collection;

describe.skipIf(!pgAvailable())('user and group quota history and forecasts', () => {
  let t: TestApp;
  let store: LocalEngine; // a second connection to the app's local store, as a JuiceFS client would have
  let tv: TkvVolume;
  let volumeId: string;
  const quota: Record<Kind, string> = { user: '', group: '', dir: '' };
  // Four passes' worth of hours before the real now, on an hour boundary (tokens stay valid).
  const t0 = Math.floor(Date.now() / HOUR) * HOUR - 24 * HOUR;
  const at = (hours: number) => new Date(t0 + hours * HOUR);
  const iso = (hours: number) => at(hours).toISOString();

  // Tokens are minted at the faked time they are used at.
  const as = (role: string, sub: string, tenants?: string[]) => `Bearer ${t.token(role, sub, tenants)}`;
  const admin = () => as('admin', 'root');
  const alice = () => as('engineer', 'alice', ['acme']);
  const api = () => request(t.http);
  /** A quota's endpoint under a kind's collection (`id` of another kind for the 404s). */
  const url = (under: Kind, id: string, sub: 'history' | 'forecast', query = '') => `/v1/volumes/${volumeId}/${collection[under]}/${id}/${sub}${query}`;

  beforeAll(async () => {
    t = await createTestApp();
    await buildTenant(t.http, admin(), { id: 'acme' });
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    const vol = (await buildVolume(t.http, admin(), 'acme', { name: 'team' })) as unknown as { id: string; prefix: string };
    volumeId = vol.id;
    tv = new TkvVolume(store, Buffer.from(vol.prefix));
    const fx = new FixtureBuilder(store, tv.keys);
    await fx.mkdir(ROOT_INODE, 'shared');
    await fx.finish();
    // Turned on as `juicefs quota set --uid` turns it on (Headroom never rewrites a format for it).
    const text = await tv.readSettingText();
    await store.txn(async (x) => x.put(tv.keys.setting(), Buffer.from(text.replace('"DirStats": true', '"DirStats": true,\n"UserGroupQuota": true'))));
    const create = async (kind: Kind, body: object) => {
      const res = await api().post(`/v1/volumes/${volumeId}/${collection[kind]}`).set('authorization', admin()).send(body);
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      return res.body.id as string;
    };
    quota.user = await create('user', { uid: 1000, softBytes: 3_500_000, hardBytes: 4_500_000, softInodes: 22, hardInodes: 100, ownerSub: 'alice' });
    quota.group = await create('group', { gid: 2000, hardBytes: 1_000_000, hardInodes: 50, ownerSub: 'bob' });
    quota.dir = await create('dir', { path: '/shared', hardBytes: 1 << 20, ownerSub: 'alice' });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
  });

  /** What JuiceFS clients record as the owner's files grow (the record's limits kept). */
  const use = async (kind: 'user' | 'group', id: number, bytes: number, inodes: number) => {
    const key = userGroupKey(tv, kind, BigInt(id));
    const rec = decodeDirQuota((await store.get(key))!, 'x');
    await store.txn(async (x) => x.put(key, encodeDirQuota({ ...rec, usedSpace: BigInt(bytes), usedInodes: BigInt(inodes) })));
  };
  /** The scheduled counters job, run at `hours` past t0. */
  const countersAt = async (hours: number) => {
    vi.setSystemTime(at(hours));
    return (await runJobOk(t.http, 'counters', admin())).counts;
  };
  const history = async (kind: 'user' | 'group', query = '') => {
    const res = await api()
      .get(url(kind, quota[kind], 'history', query))
      .set('authorization', admin());
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ quotaId: quota[kind], volumeId });
    return res.body.samples as { at: string; bytes: number; inodes: number; resolution: string }[];
  };
  const raw = (hours: number, bytes: number, inodes: number) => ({ at: iso(hours), bytes, inodes, resolution: 'raw' });

  it('keeps a sample of each user and group record per pass and forecasts each limit', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: at(0) });
    // The user: 2 MB and 12 inodes a day; the group: 400 kB and 8 inodes a day.
    for (const [i, h] of [0, 6, 12, 18].entries()) {
      await use('user', 1000, 1_000_000 + 500_000 * i, 10 + 3 * i);
      await use('group', 2000, 100_000 * (i + 1), 5 + 2 * i);
      // The directory is still, but its last sample is six hours old: one is due for it too.
      expect(await countersAt(h)).toMatchObject({ 'directoryQuotas.evaluated': 3, 'directoryQuotas.sampled': 3 });
    }
    // 1 MB to the soft byte limit is half a day, 2 MB to the hard one a day; 3 inodes to the soft
    // inode limit a quarter of a day, 81 to the hard one 6.75 days. The record read now is the
    // newest sample's reading, so the trend has four points.
    const fu = await api()
      .get(url('user', quota.user, 'forecast'))
      .set('authorization', alice());
    expect(fu.status, JSON.stringify(fu.body)).toBe(200);
    expect(fu.body).toEqual({
      quotaId: quota.user,
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
    // No soft limits: 600 kB to the hard byte limit is 1.5 days, 39 inodes to the hard one 4.875.
    const fg = await api()
      .get(url('group', quota.group, 'forecast'))
      .set('authorization', admin());
    expect(fg.status, JSON.stringify(fg.body)).toBe(200);
    expect(fg.body).toEqual({
      quotaId: quota.group,
      volumeId,
      at: iso(18),
      windowDays: 7,
      usage: { usedBytes: 400_000, usedInodes: 11, readAt: iso(18) },
      bytes: { soft: null, hard: { fullAt: iso(54), secondsToFull: 1.5 * 86_400, bytesPerDay: 400_000, samples: 4 } },
      inodes: { soft: null, hard: { fullAt: iso(18 + 4.875 * 24), secondsToFull: 4.875 * 86_400, inodesPerDay: 8, samples: 4 } },
    });

    // Half an hour on, nothing moved: nothing is kept (and `until`, exclusive, now covers 18 h).
    expect(await countersAt(18.5)).toMatchObject({ 'directoryQuotas.evaluated': 3, 'directoryQuotas.sampled': 0 });
    expect(await history('user')).toEqual([raw(0, 1_000_000, 10), raw(6, 1_500_000, 13), raw(12, 2_000_000, 16), raw(18, 2_500_000, 19)]);
    expect(await history('group')).toEqual([raw(0, 100_000, 5), raw(6, 200_000, 7), raw(12, 300_000, 9), raw(18, 400_000, 11)]);
    // The window is [since, until); one resolution on request.
    expect(await history('group', `?since=${encodeURIComponent(iso(6))}&until=${encodeURIComponent(iso(18))}`)).toEqual([raw(6, 200_000, 7), raw(12, 300_000, 9)]);
    expect(await history('user', '?resolution=day')).toEqual([]);
  });

  it('answers only under the quota’s own kind', async () => {
    const wrong: [Kind, Kind][] = [
      ['user', 'group'],
      ['user', 'dir'],
      ['group', 'user'],
      ['group', 'dir'],
      ['dir', 'user'],
      ['dir', 'group'],
    ];
    for (const sub of ['history', 'forecast'] as const) {
      for (const [kind, under] of wrong) {
        const res = await api()
          .get(url(under, quota[kind], sub))
          .set('authorization', admin());
        expect(res.status, `${kind} under ${under}/${sub}`).toBe(404);
        expect(res.body.code).toBe('directory_quota_not_found');
      }
      expect(
        (
          await api()
            .get(url('dir', quota.dir, sub))
            .set('authorization', admin())
        ).status,
      ).toBe(200);
    }
  });

  it('shows them to the quota owner, admins and the platform only', async () => {
    for (const sub of ['history', 'forecast'] as const) {
      expect(
        (
          await api()
            .get(url('user', quota.user, sub))
            .set('authorization', alice())
        ).status,
      ).toBe(200);
      // Alice does not own Bob's group quota; Mallory owns neither; Alice of another tenant sees no volume.
      expect(
        (
          await api()
            .get(url('group', quota.group, sub))
            .set('authorization', alice())
        ).status,
      ).toBe(404);
      expect(
        (
          await api()
            .get(url('group', quota.group, sub))
            .set('authorization', as('engineer', 'bob', ['acme']))
        ).status,
      ).toBe(200);
      for (const kind of ['user', 'group'] as const) {
        expect(
          (
            await api()
              .get(url(kind, quota[kind], sub))
              .set('authorization', as('engineer', 'mallory', ['acme']))
          ).status,
        ).toBe(404);
        expect(
          (
            await api()
              .get(url(kind, quota[kind], sub))
              .set('authorization', as('platform', 'ci'))
          ).status,
        ).toBe(200);
      }
      expect(
        (
          await api()
            .get(url('user', quota.user, sub))
            .set('authorization', as('engineer', 'alice', ['other']))
        ).status,
      ).toBe(404);
    }
    const bad = await api()
      .get(url('group', quota.group, 'history', '?resolution=minute'))
      .set('authorization', admin());
    expect(bad.status).toBe(400);
  });
});
