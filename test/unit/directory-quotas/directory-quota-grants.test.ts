/**
 * The directory-quota side of quota requests, over the fake store and the real TKV quota code on
 * the in-memory engine: who may ask, the usage a request is judged by, limits set as a grant in
 * the caller's transaction (no JuiceFS write inside it), and the write after commit.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Principal } from '../../../server/auth/principal.js';
import type { Db } from '../../../server/db/database.js';
import { DirectoryQuotaApplier } from '../../../server/directory-quotas/directory-quota-applier.js';
import { DirectoryQuotaEnforcer } from '../../../server/directory-quotas/directory-quota-enforcer.js';
import { DirectoryQuotaService } from '../../../server/directory-quotas/directory-quota-service.js';
import { FakeDirectoryQuotaStore } from '../../../server/directory-quotas/fake-directory-quota-store.js';
import { MemoryEngine } from '../../../server/engines/memory/memory-engine.js';
import { ApiError } from '../../../server/lib/errors.js';
import { FixtureBuilder } from '../../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../../server/meta/tkv/keys.js';
import { TkvDirQuotas } from '../../../server/meta/tkv/quota-records.js';
import { decodeDirQuota } from '../../../server/meta/tkv/records.js';
import { TkvVolume } from '../../../server/meta/tkv/tkv-volume.js';
import type { DirQuotaMetadata } from '../../../server/meta/volume-metadata.js';
import type { Volume } from '../../../server/volumes/volume.js';

const admin: Principal = { sub: 'root', role: 'admin', tenants: [] };
const alice: Principal = { sub: 'alice', role: 'engineer', tenants: ['acme'] };
const bob: Principal = { sub: 'bob', role: 'engineer', tenants: ['acme'] };
const actor = { sub: 'root', role: 'admin' };
const trx = {} as Db; // the fake store's joined unit of work ignores the handle
const MiB = 1n << 20n;
const volume: Volume = {
  id: 'vol_1',
  tenantId: 'acme',
  name: 'team',
  prefix: 'team',
  engine: 'local',
  metaUrl: 'local://x?prefix=team',
  state: 'active',
  stateDetail: null,
  quota: { softBytes: null, hardBytes: null, softInodes: null, hardInodes: null, graceSeconds: 0 },
  storage: { kind: 'file', bucket: null },
  requestHash: 'h',
  createdAt: new Date(0),
  updatedAt: new Date(0),
};

describe('DirectoryQuotaService grants', () => {
  let store: FakeDirectoryQuotaStore;
  let tv: TkvVolume;
  let svc: DirectoryQuotaService;
  let down: boolean;
  let ino: bigint;
  let id: string;

  beforeEach(async () => {
    const engine = new MemoryEngine();
    tv = new TkvVolume(engine, Buffer.from('team'));
    await tv.format({ name: 'team', storage: 'file', bucket: '/b/' });
    const fx = new FixtureBuilder(engine, tv.keys);
    ino = await fx.mkdir(ROOT_INODE, 'alice');
    await fx.file(ino, 'f', 4096 * 3);
    await fx.finish();
    const real = new TkvDirQuotas(() => tv);
    down = false;
    const metadata = new Proxy(real, {
      get: (target, prop: keyof DirQuotaMetadata) => {
        if (typeof target[prop] !== 'function') return undefined;
        const f = (target[prop] as (...a: unknown[]) => unknown).bind(target);
        return prop === 'setDirQuota' ? (...a: unknown[]) => (down ? Promise.reject(new Error('engine refuses writes')) : f(...a)) : f;
      },
    }) as DirQuotaMetadata;
    store = new FakeDirectoryQuotaStore();
    const applier = new DirectoryQuotaApplier(store, metadata, async (v) => (v === volume.id ? volume : undefined));
    svc = new DirectoryQuotaService({
      store,
      volumes: {
        get: async (p, v) => {
          if (v !== volume.id || (p.role === 'engineer' && !p.tenants.includes(volume.tenantId))) throw new ApiError(404, 'volume_not_found', 'x', 'x');
          return volume;
        },
      },
      metadata,
      applier,
      enforcer: new DirectoryQuotaEnforcer({ store, metadata, applier, volumeRef: async () => volume, opts: { hysteresis: 0.02, maxReadingAgeMs: 60_000 } }),
      ceiling: { maxHardBytes: 1n << 50n, maxHardInodes: 1n << 40n },
    });
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
    down = true;
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
