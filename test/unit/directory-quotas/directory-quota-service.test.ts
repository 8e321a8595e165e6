/**
 * The directory quota use cases over the fake store and the real TKV quota code on the in-memory
 * engine: decide in a transaction, write JuiceFS after commit, record failures and retry them
 * (never roll them into the decision), and refusals that write nothing.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../server/auth/principal.js';
import { DirectoryQuotaApplier } from '../../../server/directory-quotas/directory-quota-applier.js';
import { DirectoryQuotaService } from '../../../server/directory-quotas/directory-quota-service.js';
import { FakeDirectoryQuotaStore } from '../../../server/directory-quotas/fake-directory-quota-store.js';
import { decodeDirQuota } from '../../../server/meta/tkv/records.js';
import { TkvVolume } from '../../../server/meta/tkv/tkv-volume.js';
import type { Volume } from '../../../server/volumes/volume.js';
import { directoryQuotaServiceFixture } from '../../support/unit.js';

const admin: Principal = { sub: 'root', role: 'admin', tenants: [] };
const actor = { sub: 'root', role: 'admin' };

describe('DirectoryQuotaService', () => {
  let store: FakeDirectoryQuotaStore;
  let tv: TkvVolume;
  let svc: DirectoryQuotaService;
  let applier: DirectoryQuotaApplier;
  let down: (on: boolean) => void; // while on, the engine refuses writes
  let volume: Volume;
  let alice: bigint;

  beforeEach(async () => {
    ({ volume, tv, alice, store, applier, svc, down } = await directoryQuotaServiceFixture());
  });

  const record = async (ino: bigint) => {
    const v = await tv.engine.get(tv.keys.dirQuota(ino));
    return v && decodeDirQuota(v, 'x');
  };

  it('keeps the decision when JuiceFS refuses the write, and the reconcile pass carries it out later', async () => {
    down(true);
    const q = await svc.create(actor, admin, volume.id, { path: '/alice', hardBytes: 1 << 20 });
    expect(q.juicefs).toMatchObject({ generation: 1, appliedGeneration: 0, lastError: 'engine refuses writes' });
    expect(await record(alice)).toBeUndefined();
    expect(store.audits.map((a) => a.action)).toEqual(['directory_quota.created']);
    expect(await applier.reconcile()).toEqual({ tried: 1, failed: 1 });
    down(false);
    expect(await applier.reconcile()).toEqual({ tried: 1, failed: 0 });
    expect(await record(alice)).toEqual({ maxSpace: 1n << 20n, maxInodes: -1n, usedSpace: 12288n, usedInodes: 1n });
    expect((await svc.get(admin, volume.id, q.id)).juicefs).toMatchObject({ appliedGeneration: 1, lastError: null, recordPresent: true });
    expect(await applier.reconcile()).toEqual({ tried: 0, failed: 0 });
  });

  it('deletes in two steps: the row stays `deleting` until the record is gone', async () => {
    const q = await svc.create(actor, admin, volume.id, { path: '/alice', hardInodes: 10 });
    down(true);
    const d = await svc.delete(actor, admin, volume.id, q.id);
    expect(d.state).toBe('deleting');
    expect(await record(alice)).toBeDefined();
    down(false);
    await applier.reconcile();
    expect(await record(alice)).toBeUndefined();
    await expect(svc.get(admin, volume.id, q.id)).rejects.toMatchObject({ status: 404 });
    expect(store.audits.map((a) => a.action)).toEqual(['directory_quota.created', 'directory_quota.deleted']);
  });

  it('bumps the generation only for changes JuiceFS must see', async () => {
    const q = await svc.create(actor, admin, volume.id, { path: '/alice', softBytes: 100 });
    const owner = await svc.update(actor, admin, volume.id, q.id, { ownerSub: 'alice', softBytes: 200, graceSeconds: 60 });
    expect(owner.juicefs.generation).toBe(1);
    expect(owner.quota).toMatchObject({ softBytes: 200, graceSeconds: 60 });
    const hard = await svc.update(actor, admin, volume.id, q.id, { hardBytes: 1 << 30 });
    expect(hard.juicefs).toMatchObject({ generation: 2, appliedGeneration: 2, maxBytes: 1 << 30 });
  });

  it('refuses without writing: hard below soft, unknown path, an engineer who does not own it', async () => {
    await expect(svc.create(actor, admin, volume.id, { path: '/alice', softBytes: 10, hardBytes: 1 })).rejects.toMatchObject({ status: 400 });
    await expect(svc.create(actor, admin, volume.id, { path: '/nobody' })).rejects.toMatchObject({ status: 422, code: 'directory_not_found' });
    await expect(svc.create(actor, admin, volume.id, {})).rejects.toMatchObject({ status: 400 });
    expect(store.audits).toEqual([]);
    expect(await store.list('acme', volume.id, { limit: 10 })).toEqual([]);
    const q = await svc.create(actor, admin, volume.id, { path: '/alice', ownerSub: 'alice' });
    const eve: Principal = { sub: 'eve', role: 'engineer', tenants: ['acme'] };
    await expect(svc.get(eve, volume.id, q.id)).rejects.toMatchObject({ status: 404 });
    expect(await svc.list(eve, volume.id, { limit: 10 })).toEqual([]);
    const owner: Principal = { sub: 'alice', role: 'engineer', tenants: ['acme'] };
    expect((await svc.list(owner, volume.id, { limit: 10 })).map((x) => x.id)).toEqual([q.id]);
  });
});
