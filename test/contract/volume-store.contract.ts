/**
 * The contract every {@link VolumeStore} keeps, run against the PostgreSQL store
 * (test/e2e/knex-feature-stores.e2e.test.ts) and the in-memory fake
 * (test/unit/volumes/fake-volume-store.test.ts), so the fake the service's unit tests use cannot
 * drift from the real thing. Tests share a store: each makes tenants, ids, prefixes and Redis
 * servers of its own.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { isUniqueViolation } from '../../server/db/database.js';
import type { NewVolume, VolumeStore } from '../../server/volumes/volume-store.js';

/** A store under test. */
export interface VolumeStoreSubject {
  store: VolumeStore;
  /** Audit actions written so far about the entity, oldest first. */
  auditActions(entityId: string): Promise<string[]>;
  /** A tenant that may own volumes (PostgreSQL: a `tenants` row). */
  tenant(): Promise<string>;
}

const actor = { sub: 'root', role: 'admin' };
const rand = () => Math.random().toString(36).slice(2, 12);
const quota = { softBytes: 800n, hardBytes: 1000n, softInodes: null, hardInodes: 50n, graceSeconds: 3600 };

/** Registers the contract suite for one implementation. */
export function volumeStoreContract(name: string, make: () => Promise<VolumeStoreSubject>): void {
  describe(`VolumeStore contract: ${name}`, () => {
    let s: VolumeStoreSubject;
    let tenantId: string;
    let base: string;
    let n = 0;
    /** A new volume with a freshly claimed prefix; ids of one test sort in creation order. */
    const volume = async (o: Partial<NewVolume> = {}): Promise<NewVolume> => {
      const id = `vol_${base}${String(++n).padStart(3, '0')}`;
      const prefix = `p-${base}-${n}`;
      expect(await s.store.claimPrefix(prefix, id)).toBe(true);
      return { id, tenantId, name: `v${n}`, prefix, engine: 'local', metaUrl: `sqlite3:///m/${prefix}.db`, quota, requestHash: 'h', ...o };
    };
    beforeEach(async () => {
      s = await make();
      tenantId = await s.tenant();
      base = rand();
    });

    it('stores a volume as given, in state provisioning, and finds it by id', async () => {
      const v = await s.store.insert(await volume({ storage: { kind: 's3', bucket: `b-${base}` } }));
      expect(v).toMatchObject({ tenantId, name: 'v1', engine: 'local', state: 'provisioning', stateDetail: null, quota, storage: { kind: 's3', bucket: `b-${base}` }, requestHash: 'h' });
      expect(v.createdAt).toBeInstanceOf(Date);
      expect(v.updatedAt).toBeInstanceOf(Date);
      expect(await s.store.find(v.id)).toEqual(v);
      expect(await s.store.find(`${v.id}x`)).toBeUndefined();
      const plain = await s.store.insert(await volume());
      expect(plain.storage).toEqual({ kind: 'file', bucket: null });
    });

    it('finds a live volume by name; a deleted one frees its name', async () => {
      const v = await s.store.insert(await volume({ name: 'data' }));
      expect((await s.store.findLiveByName(tenantId, 'data'))?.id).toBe(v.id);
      expect(await s.store.findLiveByName(tenantId, 'other')).toBeUndefined();
      const err = await s.store.insert(await volume({ name: 'data' })).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isUniqueViolation(err, 'volumes_tenant_name_live')).toBe(true);
      const deleted = await s.store.setState(v.id, 'deleting');
      expect(deleted.state).toBe('deleting');
      expect(await s.store.findLiveByName(tenantId, 'data')).toBeUndefined();
      const again = await s.store.insert(await volume({ name: 'data' }));
      expect((await s.store.findLiveByName(tenantId, 'data'))?.id).toBe(again.id);
    });

    it('lists in id order, by tenants, state, after an id, up to a limit', async () => {
      const other = await s.tenant();
      const a = await s.store.insert(await volume());
      const b = await s.store.insert(await volume({ tenantId: other }));
      const c = await s.store.insert(await volume());
      await s.store.setState(c.id, 'active');
      const ids = async (f: Parameters<VolumeStore['list']>[0]) => (await s.store.list(f)).map((v) => v.id);
      expect(await ids({ tenantIds: [tenantId, other], limit: 10 })).toEqual([a.id, b.id, c.id]);
      expect(await ids({ tenantIds: [tenantId], limit: 10 })).toEqual([a.id, c.id]);
      expect(await ids({ tenantIds: [tenantId, other], afterId: a.id, limit: 1 })).toEqual([b.id]);
      expect(await ids({ tenantIds: [tenantId, other], state: 'active', limit: 10 })).toEqual([c.id]);
      expect(await ids({ tenantIds: [], limit: 10 })).toEqual([]);
      // Without tenants, other tests' volumes may come too, but ours keep their order.
      expect((await ids({ afterId: `vol_${base}`, limit: 1000 })).filter((id) => [a.id, b.id, c.id].includes(id))).toEqual([a.id, b.id, c.id]);
    });

    it("lists a tenant's live buckets, sorted, without retired volumes' or other tenants'", async () => {
      const other = await s.tenant();
      const bucket = (name: string) => ({ storage: { kind: 's3' as const, bucket: `${name}-${base}` } });
      const z = await s.store.insert(await volume(bucket('z')));
      await s.store.insert(await volume(bucket('a')));
      await s.store.insert(await volume());
      const gone = await s.store.insert(await volume(bucket('m')));
      await s.store.insert(await volume({ tenantId: other, ...bucket('o') }));
      await s.store.setState(z.id, 'active');
      await s.store.setState(gone.id, 'deleting');
      expect(await s.store.liveBuckets(tenantId)).toEqual([`a-${base}`, `z-${base}`]);
      expect(await s.store.liveBuckets(other)).toEqual([`o-${base}`]);
    });

    it('changes the state with its detail, and the limits without the grace', async () => {
      const v = await s.store.insert(await volume());
      const active = await s.store.setState(v.id, 'active', 'formatted');
      expect(active).toMatchObject({ state: 'active', stateDetail: 'formatted', quota });
      expect(active.updatedAt.getTime()).toBeGreaterThanOrEqual(v.updatedAt.getTime());
      const failed = await s.store.setState(v.id, 'failed');
      expect(failed.stateDetail).toBeNull();
      const q = await s.store.updateQuota(v.id, { softBytes: null, hardBytes: 5000n, softInodes: 10n, hardInodes: null });
      expect(q.quota).toEqual({ softBytes: null, hardBytes: 5000n, softInodes: 10n, hardInodes: null, graceSeconds: 3600 });
      expect(await s.store.find(v.id)).toEqual(q);
    });

    it('claims a prefix once, ever: a retired prefix stays taken', async () => {
      const prefix = `x-${base}`;
      expect(await s.store.claimPrefix(prefix, `vol_${base}a`)).toBe(true);
      expect(await s.store.claimPrefix(prefix, `vol_${base}b`)).toBe(false);
      await s.store.retirePrefix(prefix);
      await s.store.retirePrefix(prefix);
      expect(await s.store.claimPrefix(prefix, `vol_${base}c`)).toBe(false);
    });

    it('gives the lowest never-given Redis database of a pool, and each database once', async () => {
      const server = `redis-${base}:6379`;
      expect(await s.store.countRedisDbs(server, [3, 1, 2])).toBe(0);
      expect(await s.store.claimRedisDb(server, 2, `vol_${base}a`)).toBe(true);
      expect(await s.store.claimRedisDb(server, 2, `vol_${base}b`)).toBe(false);
      expect(await s.store.claimFreeRedisDb(server, [3, 1, 2], `vol_${base}c`)).toBe(1);
      expect(await s.store.claimFreeRedisDb(server, [3, 1, 2], `vol_${base}d`)).toBe(3);
      expect(await s.store.claimFreeRedisDb(server, [3, 1, 2], `vol_${base}e`)).toBeUndefined();
      expect(await s.store.countRedisDbs(server, [3, 1, 2])).toBe(3);
      expect(await s.store.countRedisDbs(server, [1, 4])).toBe(1);
      // Another server's numbers are its own.
      expect(await s.store.claimFreeRedisDb(`other-${server}`, [1], `vol_${base}f`)).toBe(1);
    });

    it('commits a transaction with its audit rows, and rolls both back when it throws', async () => {
      const v = await s.store.insert(await volume());
      await s.store.transaction(async ({ store, audit }) => {
        await store.setState(v.id, 'active');
        await audit(actor, { action: 'volume.activated', entityType: 'volume', entityId: v.id, tenantId, before: null, after: null });
      });
      expect((await s.store.find(v.id))!.state).toBe('active');
      expect(await s.auditActions(v.id)).toEqual(['volume.activated']);
      const prefix = `r-${base}`;
      const failing = s.store.transaction(async ({ store, audit }) => {
        await store.setState(v.id, 'deleting');
        await store.claimPrefix(prefix, `vol_${base}z`);
        await audit(actor, { action: 'volume.deleted', entityType: 'volume', entityId: v.id, tenantId, before: null, after: null });
        throw new Error('refused');
      });
      await expect(failing).rejects.toThrow('refused');
      expect((await s.store.find(v.id))!.state).toBe('active');
      expect(await s.auditActions(v.id)).toEqual(['volume.activated']);
      expect(await s.store.claimPrefix(prefix, `vol_${base}y`)).toBe(true);
    });

    it('reads a row locked for update inside a transaction, and joins a transaction it did not open', async () => {
      const v = await s.store.insert(await volume());
      const locked = await s.store.transaction(async ({ trx }) => s.store.joined(trx).store.find(v.id, { forUpdate: true }));
      expect(locked?.id).toBe(v.id);
    });
  });
}
