/**
 * The directory-quota side of quota requests, over the fake store and the real TKV quota code on
 * the in-memory engine: who may ask, the usage a request is judged by, limits set as a grant in
 * the caller's transaction (no JuiceFS write inside it), and the write after commit.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../server/auth/principal.js';
import type { Db } from '../../../server/db/database.js';
import { DirectoryQuotaService } from '../../../server/directory-quotas/directory-quota-service.js';
import { FakeDirectoryQuotaStore } from '../../../server/directory-quotas/fake-directory-quota-store.js';
import { decodeDirQuota } from '../../../server/meta/tkv/records.js';
import { TkvVolume } from '../../../server/meta/tkv/tkv-volume.js';
import type { Volume } from '../../../server/volumes/volume.js';
import { directoryQuotaServiceFixture } from '../../support/unit.js';

const admin: Principal = { sub: 'root', role: 'admin', tenants: [] };
const alice: Principal = { sub: 'alice', role: 'engineer', tenants: ['acme'] };
const bob: Principal = { sub: 'bob', role: 'engineer', tenants: ['acme'] };
const actor = { sub: 'root', role: 'admin' };
const trx = {} as Db; // the fake store's joined unit of work ignores the handle
const MiB = 1n << 20n;

describe('DirectoryQuotaService grants', () => {
  let store: FakeDirectoryQuotaStore;
  let tv: TkvVolume;
  let svc: DirectoryQuotaService;
  let down: (on: boolean) => void;
  let volume: Volume;
  let ino: bigint;
  let id: string;

  beforeEach(async () => {
    ({ volume, tv, alice: ino, store, svc, down } = await directoryQuotaServiceFixture());
    id = (await svc.create(actor, admin, volume.id, { path: '/alice', softBytes: Number(MiB / 2n), hardBytes: Number(MiB), ownerSub: 'alice' })).id;
    store.audits = [];
  });

  const record = async () => decodeDirQuota((await tv.engine.get(tv.keys.dirQuota(ino)))!, 'x');

  it("gives the owner and admins the quota with the record's usage, and anyone else a 404", async () => {
    const mine = await svc.requestable(alice, volume.id, id, true);
    expect(mine.quota.id).toBe(id);
    expect(mine.usage).toEqual({ bytes: 12288n, inodes: 1n });
    expect((await svc.requestable(admin, volume.id, id, true)).quota.ownerSub).toBe('alice');
    await expect(svc.requestable(bob, volume.id, id, false)).rejects.toMatchObject({ status: 404, code: 'directory_quota_not_found' });
  });

  it('refuses unmanaged quotas', async () => {
    await store.update('acme', id, { managed: false });
    await expect(svc.requestable(admin, volume.id, id, false)).rejects.toMatchObject({ status: 409, code: 'directory_quota_unmanaged' });
    const q = (await svc.findForGrant('acme', id))!;
    await expect(svc.setLimitsAsGrant(trx, actor, q, { ...q.quota, hardBytes: 2n * MiB })).rejects.toMatchObject({ code: 'directory_quota_unmanaged' });
  });

  it('sets limits in the given transaction and writes JuiceFS only after, through the applier', async () => {
    const q = (await svc.lockForGrant(trx, 'acme', id))!;
    const after = await svc.setLimitsAsGrant(trx, actor, q, { softBytes: q.quota.softBytes, hardBytes: 2n * MiB, softInodes: null, hardInodes: null });
    expect(after.quota.hardBytes).toBe(2n * MiB);
    expect(after.generation).toBe(q.generation + 1n);
    expect(store.audits.map((a) => a.action)).toEqual(['directory_quota.updated']);
    expect((await record()).maxSpace).toBe(MiB); // not yet: the caller has not committed
    await svc.afterGrant('acme', id);
    expect(await record()).toMatchObject({ maxSpace: 2n * MiB, usedSpace: 12288n });
    expect((await svc.findForGrant('acme', id))!.appliedGeneration).toBe(after.generation);
  });

  it('does not bump the generation for a soft-only grant', async () => {
    const q = (await svc.lockForGrant(trx, 'acme', id))!;
    const after = await svc.setLimitsAsGrant(trx, actor, q, { ...q.quota, softBytes: MiB });
    expect(after.generation).toBe(q.generation);
    expect(after.quota.softBytes).toBe(MiB);
  });

  it('keeps the grant when JuiceFS refuses the write after commit; reconcile retries it', async () => {
    const q = (await svc.lockForGrant(trx, 'acme', id))!;
    await svc.setLimitsAsGrant(trx, actor, q, { ...q.quota, hardBytes: 3n * MiB });
    down(true);
    await svc.afterGrant('acme', id);
    const row = (await svc.findForGrant('acme', id))!;
    expect(row).toMatchObject({ lastError: 'engine refuses writes' });
    expect(row.quota.hardBytes).toBe(3n * MiB);
    expect((await record()).maxSpace).toBe(MiB);
  });

  it('refuses a hard limit as a grant where JuiceFS cannot enforce it, and ceilings', async () => {
    const q = (await svc.lockForGrant(trx, 'acme', id))!;
    await expect(svc.setLimitsAsGrant(trx, actor, { ...q, native: false }, { ...q.quota })).rejects.toMatchObject({ code: 'native_quota_unsupported' });
    await expect(svc.setLimitsAsGrant(trx, actor, q, { ...q.quota, hardBytes: 1n << 51n })).rejects.toMatchObject({ status: 422 });
    expect(store.audits).toEqual([]);
  });
});
