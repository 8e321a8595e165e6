/**
 * Directory quota enforcement over the fake store and the real TKV quota records on the in-memory
 * engine: the volumes' policy (soft, grace, freeze by clamping the directory's hard limits to its
 * usage, hysteresis on release, hard limits), admin freezes, and each pass's verification.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { DirectoryQuotaApplier } from '../../../server/directory-quotas/directory-quota-applier.js';
import type { DirectoryQuotaEnforcer } from '../../../server/directory-quotas/directory-quota-enforcer.js';
import type { DirectoryQuota } from '../../../server/directory-quotas/directory-quota.js';
import type { FakeDirectoryQuotaStore } from '../../../server/directory-quotas/fake-directory-quota-store.js';
import { TkvDirQuotas } from '../../../server/meta/tkv/quota-records.js';
import { decodeDirQuota, encodeDirQuota } from '../../../server/meta/tkv/records.js';
import type { TkvVolume } from '../../../server/meta/tkv/tkv-volume.js';
import type { VolumeRef } from '../../../server/meta/volume-metadata.js';
import { directoryQuotaEnforcerFixture, type DirectoryQuotaEnforcerFixture } from '../../support/unit.js';

const KiB = 1024n;
const volume: VolumeRef = { id: 'vol_1', metaUrl: 'mem://team', prefix: 'team', quota: { hardBytes: null, hardInodes: null } };
const admin = { sub: 'root', role: 'admin' };

describe('DirectoryQuotaEnforcer', () => {
  let store: FakeDirectoryQuotaStore;
  let tv: TkvVolume;
  let enforcer: DirectoryQuotaEnforcer;
  let now: Date;
  let dir: bigint;
  let use: DirectoryQuotaEnforcerFixture['use'];
  const at = (s: number) => new Date(Date.UTC(2026, 11, 1, 0, 0, s));

  beforeEach(async () => {
    now = at(0);
    ({ tv, dir, store, enforcer, use } = await directoryQuotaEnforcerFixture(volume, () => now));
  });

  /** A managed native quota whose record is already written, as after a create. */
  const quota = async (limits: Partial<DirectoryQuota['quota']>): Promise<DirectoryQuota> => {
    const q = await store.insert({
      id: 'dq_1',
      tenantId: 'acme',
      volumeId: volume.id,
      path: Buffer.from('/alice'),
      inode: dir,
      quota: { softBytes: null, hardBytes: null, softInodes: null, hardInodes: null, graceSeconds: 0, ...limits },
      ownerSub: null,
      managed: true,
      native: true,
    });
    await new DirectoryQuotaApplier(store, new TkvDirQuotas(() => tv), async () => volume).apply(q);
    return (await store.find('acme', q.id))!;
  };
  const record = async () => decodeDirQuota((await tv.engine.get(tv.keys.dirQuota(dir)))!, 'x');
  const state = async () => (await store.find('acme', 'dq_1'))!.enforcement;

  it('goes over soft, freezes when grace ends by clamping the hard limit to the usage, and releases below the line', async () => {
    await quota({ softBytes: 100n * KiB, hardBytes: 1000n * KiB, graceSeconds: 60 });
    await use(50n * KiB);
    expect(await enforcer.pass()).toMatchObject({ evaluated: 1, changed: 0 });
    await use(150n * KiB);
    expect(await enforcer.pass()).toMatchObject({ changed: 1 });
    expect(await state()).toMatchObject({ state: 'over_soft', reason: 'soft_bytes_exceeded', graceDeadline: at(60), desired: null });
    expect((await record()).maxSpace).toBe(1000n * KiB);
    now = at(61);
    await enforcer.pass();
    expect(await state()).toMatchObject({ state: 'frozen', reason: 'grace_expired', desired: { maxSpace: 150n * KiB, maxInodes: 1n } });
    expect(await record()).toMatchObject({ maxSpace: 150n * KiB, maxInodes: 1n, usedSpace: 150n * KiB });
    expect(store.audits.map((a) => a.action)).toEqual(['directory_quota.enforcement.over_soft', 'directory_quota.enforcement.frozen']);
    expect(store.notices.map((n) => n.type)).toEqual(['directory.soft_exceeded', 'directory.frozen']);
    expect(store.notices[1]!.data).toMatchObject({ detail: '/alice', usage: { bytes: String(150n * KiB) }, reason: 'grace_expired', toRelease: { bytes: String(150n * KiB - 90n * KiB + 1n) } });
    // Above the release line (100 KiB − 10%) stays frozen, with the clamp following the usage down.
    now = at(70);
    await use(95n * KiB);
    await enforcer.pass();
    expect(await state()).toMatchObject({ state: 'frozen', desired: { maxSpace: 95n * KiB } });
    expect((await record()).maxSpace).toBe(95n * KiB);
    await use(80n * KiB);
    await enforcer.pass();
    expect(await state()).toMatchObject({ state: 'ok', reason: 'below_release_line', desired: null });
    expect(store.notices.map((n) => n.type)).toEqual(['directory.soft_exceeded', 'directory.frozen', 'directory.unfrozen']);
    expect(await record()).toMatchObject({ maxSpace: 1000n * KiB, maxInodes: -1n });
  });

  it('freezes at the hard limit without ever raising it', async () => {
    await quota({ hardBytes: 100n * KiB });
    await use(120n * KiB); // clients overshoot a little between flushes
    await enforcer.pass();
    expect(await state()).toMatchObject({ state: 'frozen', reason: 'hard_bytes_reached' });
    expect((await record()).maxSpace).toBe(100n * KiB);
  });

  it('repairs a record changed or deleted behind its back, and counts the drift', async () => {
    await quota({ hardBytes: 100n * KiB, hardInodes: 10n });
    const rec = await record();
    await tv.engine.txn(async (t) => t.put(tv.keys.dirQuota(dir), encodeDirQuota({ ...rec, maxSpace: 5n << 30n })));
    expect(await enforcer.pass()).toMatchObject({ drifts: 1 });
    expect((await record()).maxSpace).toBe(100n * KiB);
    expect(await enforcer.pass()).toMatchObject({ drifts: 0, changed: 0 });
    await tv.engine.txn(async (t) => t.delete(tv.keys.dirQuota(dir)));
    const r = await enforcer.pass(); // unknown (no record to read usage from), and rewritten
    expect(r.unknown).toBe(1);
    expect(await record()).toMatchObject({ maxSpace: 100n * KiB, maxInodes: 10n });
    expect(await state()).toMatchObject({ state: 'ok', unknownReason: expect.stringContaining('missing') });
    await enforcer.pass();
    expect(await state()).toMatchObject({ unknownReason: null });
  });

  it('holds an admin freeze until it is lifted, then lands where the usage says', async () => {
    const q = await quota({ softBytes: 100n * KiB, graceSeconds: 3600 });
    await use(150n * KiB);
    const frozen = await enforcer.freeze(admin, q, await record().then((x) => ({ inode: dir, ...x })), { until: null, reason: 'audit' });
    expect(frozen!.enforcement).toMatchObject({ state: 'frozen', reason: 'manual_freeze', manual: { reason: 'audit' } });
    expect((await record()).maxSpace).toBe(150n * KiB);
    await use(10n * KiB);
    await enforcer.pass(); // below every line: a manual freeze holds anyway
    expect(await state()).toMatchObject({ state: 'frozen', reason: 'manual_freeze' });
    await use(150n * KiB);
    const lifted = await enforcer.unfreeze(admin, (await store.find('acme', q.id))!, await record().then((x) => ({ inode: dir, ...x })));
    expect(lifted!.enforcement).toMatchObject({ state: 'over_soft', manual: null, graceDeadline: new Date(now.getTime() + 3600_000) });
    expect(await record()).toMatchObject({ maxSpace: -1n });
    // Leaving the freeze is told even though the quota stays over soft (as for a volume).
    expect(store.notices.map((n) => [n.type, n.data.state])).toEqual([
      ['directory.frozen', 'frozen'],
      ['directory.unfrozen', 'over_soft'],
    ]);
  });
});
