/**
 * Storage key rotation over the in-memory identity store and a recording SeaweedFS stand-in: the
 * new key is sealed and audited in one transaction before SeaweedFS hears of it, refusals say
 * why, and the reconcile pass revokes the previous key once the overlap is over.
 */
import pino from 'pino';
import { beforeEach, describe, expect, it } from 'vitest';
import type { SeaweedStorage } from '../../../server/storage/seaweedfs/seaweedfs-storage.js';
import { FakeIdentityStore } from '../../../server/storage/fake-identity-store.js';
import { SecretBox } from '../../../server/storage/secret-box.js';
import { issuedAtOf, StorageCredentials } from '../../../server/storage/storage-credentials.js';
import { FakeTenantStore } from '../../../server/tenants/fake-tenant-store.js';
import { tenantReadModel } from '../../../server/tenants/tenant-read-model.js';
import { actor, admin, engineer, failAudits, rejectsWith } from '../../support/unit.js';

const box = new SecretBox('unit-master-key-unit-master-key-0123456789');
const OVERLAP = 3_600_000;

/** What SeaweedFS holds: keys per identity, and the buckets each was given. */
function seaweedStandIn() {
  const keys = new Map<string, string[]>();
  const buckets = new Map<string, string[]>();
  const storage = {
    ensureIdentity: async (name: string, k: { accessKey: string }, b: string[]) => {
      keys.set(name, [...new Set([...(keys.get(name) ?? []), k.accessKey])]);
      buckets.set(name, b);
    },
    accessKeys: async (name: string) => keys.get(name) ?? [],
    deleteAccessKey: async (name: string, k: string) =>
      void keys.set(
        name,
        (keys.get(name) ?? []).filter((x) => x !== k),
      ),
  };
  return { keys, buckets, storage: storage as unknown as SeaweedStorage };
}

describe('StorageCredentials', () => {
  let identities: FakeIdentityStore;
  let tenants: FakeTenantStore;
  let seaweed: ReturnType<typeof seaweedStandIn>;
  let now: number;
  const make = (configured = true) =>
    new StorageCredentials({
      identities,
      tenants: tenantReadModel(tenants),
      buckets: async (tenantId) => [`jfs-${tenantId}-a`],
      log: pino({ level: 'silent' }),
      seaweed: configured ? { storage: seaweed.storage, box } : undefined,
      overlapMs: OVERLAP,
      now: () => now,
    });
  beforeEach(async () => {
    identities = new FakeIdentityStore();
    tenants = new FakeTenantStore();
    seaweed = seaweedStandIn();
    now = Date.parse('2026-12-01T00:00:00Z');
    for (const id of ['acme', 'bare']) await tenants.insert({ id, displayName: id, email: `ops@${id}.example`, language: 'en', webhookUrl: null, tier: 'standard' });
    await identities.insert({ tenantId: 'acme', name: 'headroom-acme', accessKey: 'HRFIRSTKEY000000000A', secretEnc: box.seal('first') });
  });

  it('seals and audits the new key, gives it to SeaweedFS beside the old one, and shows it once', async () => {
    const r = await make().rotate(actor, engineer('acme'), 'acme');
    expect(r).toMatchObject({ tenantId: 'acme', previousAccessKey: 'HRFIRSTKEY000000000A', previousValidUntil: new Date(now + OVERLAP) });
    expect(issuedAtOf(r.accessKey)).toBe(now);
    const row = (await identities.find('acme'))!;
    expect(row.accessKey).toBe(r.accessKey);
    expect(box.open(row.secretEnc)).toBe(r.secretKey);
    expect(identities.audits).toMatchObject([{ action: 'tenant.storage_key_rotated', entityId: 'acme', before: { accessKey: 'HRFIRSTKEY000000000A' }, after: { accessKey: r.accessKey } }]);
    expect(seaweed.keys.get('headroom-acme')).toEqual([r.accessKey]);
    expect(seaweed.buckets.get('headroom-acme')).toEqual(['jfs-acme-a']);
  });

  it('refuses other tenants, unknown tenants, tenants without an identity, and servers without storage', async () => {
    await rejectsWith(make().rotate(actor, engineer('other'), 'acme'), 404, 'tenant_not_found');
    await rejectsWith(make().rotate(actor, admin, 'ghost'), 404, 'tenant_not_found');
    await rejectsWith(make().rotate(actor, admin, 'bare'), 409, 'no_storage_identity');
    await rejectsWith(make(false).rotate(actor, admin, 'acme'), 409, 'storage_not_configured');
    expect((await identities.find('acme'))!.accessKey).toBe('HRFIRSTKEY000000000A');
    expect(identities.audits).toEqual([]);
  });

  it('keeps the old key when the audit row cannot be written', async () => {
    failAudits(identities);
    await expect(make().rotate(actor, admin, 'acme')).rejects.toThrow('audit log down');
    expect((await identities.find('acme'))!.accessKey).toBe('HRFIRSTKEY000000000A');
    expect(seaweed.keys.size).toBe(0);
  });

  it('restores a current key SeaweedFS lacks, and revokes older keys after the overlap', async () => {
    const credentials = make();
    const r = await credentials.rotate(actor, admin, 'acme');
    seaweed.keys.set('headroom-acme', ['HRFIRSTKEY000000000A']);
    expect(await credentials.finishRotations()).toEqual({ keysRevoked: 0, keysRestored: 1, rotationErrors: 0 });
    expect(seaweed.keys.get('headroom-acme')).toEqual(['HRFIRSTKEY000000000A', r.accessKey]);
    now += OVERLAP;
    expect(await credentials.finishRotations()).toEqual({ keysRevoked: 1, keysRestored: 0, rotationErrors: 0 });
    expect(seaweed.keys.get('headroom-acme')).toEqual([r.accessKey]);
    expect(identities.audits.map((a) => [a.action, a.actor.sub])).toEqual([
      ['tenant.storage_key_rotated', 'root'],
      ['tenant.storage_key_revoked', 'system:reconciler'],
    ]);
  });
});
