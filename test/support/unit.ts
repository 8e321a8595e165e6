/**
 * What unit tests of services over the in-memory stores set up alike: the principals and actor
 * they act as, the check of an ApiError's status and code, a store whose audit writes fail, the
 * configuration slice volumes read, a directory quota enforcer and a directory quota service on an
 * in-memory TKV volume, and an evaluated enforcement decision.
 */
import { expect } from 'vitest';
import type { AuditInput, Actor } from '../../server/audit/audit-log.js';
import type { Principal } from '../../server/auth/principal.js';
import type { AppConfig } from '../../server/config.js';
import { DirectoryQuotaApplier } from '../../server/directory-quotas/directory-quota-applier.js';
import { DirectoryQuotaEnforcer } from '../../server/directory-quotas/directory-quota-enforcer.js';
import { DirectoryQuotaService } from '../../server/directory-quotas/directory-quota-service.js';
import { FakeDirectoryQuotaStore } from '../../server/directory-quotas/fake-directory-quota-store.js';
import type { Decision } from '../../server/enforcement/policy.js';
import type { EvaluatedDecision } from '../../server/enforcement/subject-decision.js';
import type { Volume } from '../../server/volumes/volume.js';
import { MemoryEngine } from '../../server/engines/memory/memory-engine.js';
import { ApiError } from '../../server/lib/errors.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvDirQuotas } from '../../server/meta/tkv/quota-records.js';
import { decodeDirQuota, encodeDirQuota } from '../../server/meta/tkv/records.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import type { DirQuotaMetadata, VolumeRef } from '../../server/meta/volume-metadata.js';

/** The audit actor of an admin's request. */
export const actor = { sub: 'root', role: 'admin', requestId: 'req-1' };
/** An admin, who sees every tenant. */
export const admin: Principal = { sub: 'root', role: 'admin', tenants: [] };
/** Eve, an engineer of the tenants named. */
export const engineer = (...tenants: string[]): Principal => ({ sub: 'eve', role: 'engineer', tenants });

/** What VolumeService reads of the configuration: the local engine, no storage, generous maxima. */
export const volumeConfig: Pick<AppConfig, 'meta' | 'quotas' | 'storage'> = {
  meta: { defaultEngine: 'local', localPath: '/srv/headroom/meta.db', redisDbs: [], formatVersion: '1.1', trashDays: 1, objectsDir: '/srv/objects', timeoutMs: 1000 },
  quotas: { defaultGraceSeconds: 3600, maxHardBytes: 10n ** 15n, maxHardInodes: 10n ** 9n },
  storage: undefined,
};

/** Rejects with an ApiError of that status and code; the error. */
export const rejectsWith = async (p: Promise<unknown>, status: number, code: string): Promise<ApiError> => {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ApiError);
  expect(err).toMatchObject({ status, code });
  return err as ApiError;
};

/** Makes every audit write of the store's transactions fail, as a broken audit table would. */
export function failAudits<U extends { audit(actor: Actor, e: AuditInput): Promise<void> }>(store: { transaction<T>(fn: (uow: U) => Promise<T>): Promise<T> }): void {
  const transaction = store.transaction.bind(store);
  store.transaction = (fn) =>
    transaction((uow) =>
      fn({
        ...uow,
        audit: async () => {
          throw new Error('audit log down');
        },
      }),
    );
}

/**
 * A formatted TKV volume `team` on the in-memory engine with one directory, /alice (`dir`), and a
 * DirectoryQuotaEnforcer over a fake store on `clock` (the store's clock too), with its applier
 * writing the real quota records. `use` sets the usage JuiceFS clients would record in /alice's.
 */
export async function directoryQuotaEnforcerFixture(volume: VolumeRef, clock: () => Date) {
  const engine = new MemoryEngine();
  const tv = new TkvVolume(engine, Buffer.from('team'));
  await tv.format({ name: 'team', storage: 'file', bucket: '/b/' });
  const fx = new FixtureBuilder(engine, tv.keys);
  const dir = await fx.mkdir(ROOT_INODE, 'alice');
  await fx.finish();
  const store = new FakeDirectoryQuotaStore();
  store.now = clock;
  const metadata = new TkvDirQuotas(() => tv);
  const applier = new DirectoryQuotaApplier(store, metadata, async () => volume, undefined, clock);
  const enforcer = new DirectoryQuotaEnforcer({ store, metadata, applier, volumeRef: async () => volume, opts: { hysteresis: 0.1, maxReadingAgeMs: 60_000 }, clock });
  const use = async (bytes: bigint, inodes = 1n) => {
    const rec = decodeDirQuota((await tv.engine.get(tv.keys.dirQuota(dir)))!, 'x');
    await tv.engine.txn(async (t) => t.put(tv.keys.dirQuota(dir), encodeDirQuota({ ...rec, usedSpace: bytes, usedInodes: inodes })));
  };
  return { tv, dir, store, applier, enforcer, use };
}

/** An active local volume "team" of tenant acme, as the directory quota service sees it. */
export const teamVolume: Volume = {
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

/**
 * A directory quota service over the fake store and real TKV quota records of {@link teamVolume}
 * (an `/alice` directory holding one 12 KiB file). While `down(true)`, record writes and deletes
 * fail and reads keep working, as on an engine out of space; engineers see the volume only in
 * their tenants.
 */
export async function directoryQuotaServiceFixture() {
  const volume = teamVolume;
  const engine = new MemoryEngine();
  const tv = new TkvVolume(engine, Buffer.from('team'));
  await tv.format({ name: 'team', storage: 'file', bucket: '/b/' });
  const fx = new FixtureBuilder(engine, tv.keys);
  const alice = await fx.mkdir(ROOT_INODE, 'alice');
  await fx.file(alice, 'f', 4096 * 3);
  await fx.finish();
  const real = new TkvDirQuotas(() => tv);
  let isDown = false;
  const metadata = new Proxy(real, {
    get: (target, prop: keyof DirQuotaMetadata) => {
      if (typeof target[prop] !== 'function') return undefined; // no user/group quotas here
      const f = (target[prop] as (...a: unknown[]) => unknown).bind(target);
      return ['setDirQuota', 'deleteDirQuota'].includes(prop) ? (...a: unknown[]) => (isDown ? Promise.reject(new Error('engine refuses writes')) : f(...a)) : f;
    },
  }) as DirQuotaMetadata;
  const store = new FakeDirectoryQuotaStore();
  const applier = new DirectoryQuotaApplier(store, metadata, async (id) => (id === volume.id ? volume : undefined));
  const svc = new DirectoryQuotaService({
    store,
    volumes: {
      get: async (p, id) => {
        if (id !== volume.id || (p.role === 'engineer' && !p.tenants.includes(volume.tenantId))) throw new ApiError(404, 'volume_not_found', 'x', 'x');
        return volume;
      },
    },
    metadata,
    applier,
    enforcer: new DirectoryQuotaEnforcer({ store, metadata, applier, volumeRef: async () => volume, opts: { hysteresis: 0.02, maxReadingAgeMs: 60_000 } }),
    ceiling: { maxHardBytes: 1n << 50n, maxHardInodes: 1n << 40n },
  });
  const down = (on: boolean) => void (isDown = on);
  return { volume, tv, alice, store, applier, svc, down };
}

/** What {@link directoryQuotaEnforcerFixture} sets up. */
export type DirectoryQuotaEnforcerFixture = Awaited<ReturnType<typeof directoryQuotaEnforcerFixture>>;

/** An evaluated decision: within limits and unchanged, 100 bytes of capacity, unless `over` says otherwise. */
export const evaluated = (over: Partial<EvaluatedDecision> = {}): Decision => ({
  kind: 'evaluated',
  next: 'ok',
  changed: false,
  reason: 'within_limits',
  graceDeadline: null,
  clearManual: false,
  capacity: { bytes: 100n, inodes: 0n },
  ...over,
});
