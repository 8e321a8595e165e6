/**
 * VolumeService over the in-memory stores: idempotent creation, the owner checked in the
 * volume's transaction, quota rules, every state change audited in its own transaction (and
 * rolled back with it), adoption, and grants' `setQuotaIn`.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { Db } from '../../../server/db/database.js';
import { FakeTenantStore } from '../../../server/tenants/fake-tenant-store.js';
import { tenantReadModel } from '../../../server/tenants/tenant-read-model.js';
import { FakeVolumeStore } from '../../../server/volumes/fake-volume-store.js';
import type { MetadataProvisioner } from '../../../server/volumes/metadata-provisioner.js';
import type { Volume } from '../../../server/volumes/volume.js';
import { VolumeService } from '../../../server/volumes/volume-service.js';
import { actor, admin, engineer, failAudits, rejectsWith, volumeConfig as config } from '../../support/unit.js';

describe('VolumeService', () => {
  let store: FakeVolumeStore;
  let seeds: Array<{ trx: Db; volumeId: string; tenantId: string; applied: { capacity: bigint; inodes: bigint } }>;
  let provisioned: Volume[];
  let provisioner: MetadataProvisioner;
  let inspected: { capacity: bigint; inodes: bigint };
  const make = (o: { provisioner?: MetadataProvisioner | null } = {}) => {
    const tenants = new FakeTenantStore();
    void tenants.insert({ id: 'acme', displayName: 'Acme', email: 'ops@acme.example', language: 'en', webhookUrl: null, tier: 'standard' });
    return new VolumeService({
      store,
      config,
      provisioner: o.provisioner === null ? undefined : (o.provisioner ?? provisioner),
      metadata: { inspect: async () => ({ name: 'legacy', uuid: 'u-1', storage: 'file', bucket: '/b', ...inspected }) },
      tenants: tenantReadModel(tenants),
      enforcementStates: { seed: async (trx, volumeId, tenantId, applied) => void seeds.push({ trx, volumeId, tenantId, applied }) },
    });
  };
  let service: VolumeService;
  beforeEach(() => {
    store = new FakeVolumeStore();
    seeds = [];
    provisioned = [];
    inspected = { capacity: 0n, inodes: 0n };
    provisioner = { provision: async (v) => void provisioned.push(v) };
    service = make();
  });

  describe('create', () => {
    it('records the volume, formats it, activates it and seeds its enforcement state, each step audited', async () => {
      const { volume, created } = await service.create(actor, 'acme', { name: 'data', quota: { softBytes: 800, hardBytes: 1000, hardInodes: 50 } });
      expect(created).toBe(true);
      expect(volume).toMatchObject({ tenantId: 'acme', name: 'data', prefix: 'acme-data', engine: 'local', metaUrl: 'local:///srv/headroom/meta.db?prefix=acme-data', state: 'active' });
      expect(volume.quota).toEqual({ softBytes: 800n, hardBytes: 1000n, softInodes: null, hardInodes: 50n, graceSeconds: 3600 });
      expect(provisioned.map((v) => v.state)).toEqual(['provisioning']);
      expect(store.prefixState('acme-data')).toBe('claimed');
      expect(store.audits.map((a) => [a.action, a.entityId, a.tenantId])).toEqual([
        ['volume.created', volume.id, 'acme'],
        ['volume.activated', volume.id, 'acme'],
      ]);
      expect(store.audits[1]).toMatchObject({ before: { state: 'provisioning' }, after: { state: 'active' } });
      // Formatting wrote the hard limits: the first state says so, in the activating transaction.
      expect(seeds).toEqual([{ trx: expect.anything(), volumeId: volume.id, tenantId: 'acme', applied: { capacity: 1000n, inodes: 50n } }]);
    });

    it('answers a repeat of the same request with the existing volume and writes nothing', async () => {
      const first = await service.create(actor, 'acme', { name: 'data' });
      // The defaults spelled out are the same request.
      const again = await service.create(actor, 'acme', { name: 'data', engine: 'local', quota: { graceSeconds: 3600 } });
      expect(again).toEqual({ volume: first.volume, created: false });
      expect(store.audits).toHaveLength(2);
      expect(await store.list({ limit: 10 })).toHaveLength(1);
    });

    it('refuses the same name with another body (409 volume_name_taken)', async () => {
      await service.create(actor, 'acme', { name: 'data' });
      await rejectsWith(service.create(actor, 'acme', { name: 'data', quota: { hardBytes: 5 } }), 409, 'volume_name_taken');
      expect(await store.list({ limit: 10 })).toHaveLength(1);
    });

    it("gives a deleted volume's name to a new volume, with a new prefix (prefixes are never reused)", async () => {
      const old = await service.create(actor, 'acme', { name: 'data' });
      await service.delete(actor, old.volume.id);
      const fresh = await service.create(actor, 'acme', { name: 'data' });
      expect(fresh.created).toBe(true);
      expect(fresh.volume.prefix).toMatch(/^acme-data-[a-z0-9]{5}$/);
      expect(store.prefixState('acme-data')).toBe('retired');
    });

    it('refuses an unknown tenant (404) and leaves no volume, prefix or audit row', async () => {
      await rejectsWith(service.create(actor, 'nobody', { name: 'data' }), 404, 'tenant_not_found');
      expect(await store.list({ limit: 10 })).toEqual([]);
      expect(store.prefixState('nobody-data')).toBe('free');
      expect(store.audits).toEqual([]);
      expect(provisioned).toEqual([]);
    });

    it('refuses an invalid quota, one above the ceiling, or an engine not configured, before writing', async () => {
      await rejectsWith(service.create(actor, 'acme', { name: 'a', quota: { softBytes: 10, hardBytes: 5 } }), 400, 'quota_invalid');
      await rejectsWith(service.create(actor, 'acme', { name: 'b', quota: { softInodes: 10, hardInodes: 5 } }), 400, 'quota_invalid');
      await rejectsWith(service.create(actor, 'acme', { name: 'c', quota: { hardBytes: 2 ** 52 } }), 422, 'above_platform_ceiling');
      await rejectsWith(service.create(actor, 'acme', { name: 'd', engine: 'etcd' }), 400, 'engine_not_configured');
      expect(await store.list({ limit: 10 })).toEqual([]);
      expect(store.audits).toEqual([]);
    });

    it('marks the volume failed when formatting fails, after rolling back what was made', async () => {
      const undone: string[] = [];
      service = make({ provisioner: { provision: async () => Promise.reject(new Error('disk full')), rollback: async (v) => void undone.push(v.id) } });
      const { volume } = await service.create(actor, 'acme', { name: 'data' });
      expect(volume).toMatchObject({ state: 'failed', stateDetail: 'provisioning failed: disk full' });
      expect(undone).toEqual([volume.id]);
      expect(store.audits.map((a) => a.action)).toEqual(['volume.created', 'volume.failed']);
      expect(seeds).toEqual([]);
    });

    it('stops at provisioning without a provisioner, and lists such volumes once they are old enough', async () => {
      service = make({ provisioner: null });
      const { volume } = await service.create(actor, 'acme', { name: 'data' });
      expect(volume.state).toBe('provisioning');
      expect(await service.stuckProvisioning(60_000)).toEqual([]);
      expect((await service.stuckProvisioning(0)).map((v) => v.id)).toEqual([volume.id]);
    });
  });

  describe('adopt', () => {
    const metaUrl = 'local:///srv/headroom/meta.db?prefix=legacy-vol';

    it('claims the prefix, records the volume active with the limits its setting enforces, and seeds its state', async () => {
      inspected = { capacity: 4096n, inodes: 0n };
      const { volume, created } = await service.create(actor, 'acme', { name: 'legacy', adopt: { metaUrl } });
      expect(created).toBe(true);
      expect(volume).toMatchObject({ prefix: 'legacy-vol', state: 'active', metaUrl, quota: { hardBytes: 4096n, hardInodes: null } });
      expect(store.prefixState('legacy-vol')).toBe('claimed');
      expect(store.audits.map((a) => a.action)).toEqual(['volume.adopted']);
      expect(seeds.map((s) => s.applied)).toEqual([{ capacity: 4096n, inodes: 0n }]);
      expect(provisioned).toEqual([]);
    });

    it('refuses a prefix Headroom ever managed (409 prefix_in_use) and writes nothing', async () => {
      await store.claimPrefix('legacy-vol', 'vol_other');
      await rejectsWith(service.create(actor, 'acme', { name: 'legacy', adopt: { metaUrl } }), 409, 'prefix_in_use');
      expect(await store.list({ limit: 10 })).toEqual([]);
      expect(store.audits).toEqual([]);
      expect(seeds).toEqual([]);
    });
  });

  describe('state changes', () => {
    it('deletes a volume: state deleting, prefix retired, audited with both images', async () => {
      const { volume } = await service.create(actor, 'acme', { name: 'data' });
      const after = await service.delete(actor, volume.id);
      expect(after.state).toBe('deleting');
      expect(store.prefixState(volume.prefix)).toBe('retired');
      expect(store.audits.at(-1)).toMatchObject({ action: 'volume.deleted', entityId: volume.id, before: { state: 'active' }, after: { state: 'deleting' } });
      // Deleting again changes nothing and audits nothing.
      expect((await service.delete(actor, volume.id)).state).toBe('deleting');
      expect(store.audits.filter((a) => a.action === 'volume.deleted')).toHaveLength(1);
      await rejectsWith(service.delete(actor, 'vol_nope'), 404, 'volume_not_found');
    });

    it('rolls a state change back, prefix included, when its audit row cannot be written', async () => {
      const { volume } = await service.create(actor, 'acme', { name: 'data' });
      failAudits(store);
      await expect(service.delete(actor, volume.id)).rejects.toThrow('audit log down');
      expect((await service.find(volume.id))!.state).toBe('active');
      expect(store.prefixState(volume.prefix)).toBe('claimed');
    });

    it('writes no volume when its creation cannot be audited', async () => {
      failAudits(store);
      await expect(service.create(actor, 'acme', { name: 'data' })).rejects.toThrow('audit log down');
      expect(await store.list({ limit: 10 })).toEqual([]);
      expect(store.prefixState('acme-data')).toBe('free');
    });

    it("sets a volume's limits in the caller's transaction, keeping its grace", async () => {
      const { volume } = await service.create(actor, 'acme', { name: 'data', quota: { hardBytes: 1000, graceSeconds: 60 } });
      const after = await store.transaction(({ trx }) => service.setQuotaIn(trx, volume.id, { softBytes: 100n, hardBytes: 2000n, softInodes: null, hardInodes: 7n }));
      expect(after.quota).toEqual({ softBytes: 100n, hardBytes: 2000n, softInodes: null, hardInodes: 7n, graceSeconds: 60 });
      expect((await service.find(volume.id))!.quota).toEqual(after.quota);
    });
  });

  describe('reads', () => {
    it("shows engineers only their tenants' volumes, others as not found", async () => {
      const { volume } = await service.create(actor, 'acme', { name: 'data' });
      expect((await service.get(engineer('acme'), volume.id)).id).toBe(volume.id);
      await rejectsWith(service.get(engineer('globex'), volume.id), 404, 'volume_not_found');
      expect((await service.list(engineer('globex'), { limit: 10 })).map((v) => v.id)).toEqual([]);
      expect((await service.list(engineer('globex'), { tenantId: 'acme', limit: 10 })).map((v) => v.id)).toEqual([]);
      expect((await service.list(admin, { tenantId: 'acme', limit: 10 })).map((v) => v.id)).toEqual([volume.id]);
      expect((await service.listActive({ limit: 10 })).map((v) => v.id)).toEqual([volume.id]);
    });
  });
});
