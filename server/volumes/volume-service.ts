/**
 * Volume use cases. Creation is idempotent by (tenant, name, normalised body): the record and
 * its prefix are committed first as `provisioning` (so a crash never loses a claimed prefix),
 * then the metadata provisioner formats the prefix, then the volume becomes `active` or
 * `failed`. Each step is its own audited transaction.
 */
import { failpoint } from '../lib/failpoints.js';
import { DependencyUnavailableError } from '../lib/deadline.js';
import { ulid } from 'ulid';
import { canSeeTenant, visibleTenants, type Principal } from '../auth/principal.js';
import type { Actor } from '../audit/audit-log.js';
import type { AppConfig } from '../config.js';
import { isUniqueViolation, type Db } from '../db/database.js';
import { errors } from '../lib/errors.js';
import { hashRequest } from '../http/idempotency.js';
import type { TenantReadModel } from '../tenants/tenant-read-model.js';
import { CorruptMetadataError } from '../meta/tkv/records.js';
import { NotFormattedError } from '../meta/tkv/tkv-volume.js';
import type { EnforcementStates } from '../enforcement/enforcement-states.js';
import { isRedisUrl, parseRedisUrl, redact } from '../meta/redis/redis-url.js';
import { adoptionTarget, buildMetaUrl, redisAdoptionTarget } from './meta-url.js';
import { allocateRedisDb, assertRedisAnswers } from './redis-db-allocator.js';
import { bucketFor } from '../storage/storage-onboarding.js';
import type { VolumeMetadata } from '../meta/volume-metadata.js';
import type { MetadataProvisioner } from './metadata-provisioner.js';
import { allocatePrefix, derivePrefix } from './prefix-allocator.js';
import { keepExistingLimits, normaliseQuota, presentQuota } from './volume-quota.js';
import { presentVolume, type EngineKind, type Quota, type Volume, type VolumeState } from './volume.js';
import type { VolumeStore } from './volume-store.js';

/** The create-volume body after OpenAPI validation. */
export interface CreateVolumeInput {
  name: string;
  engine?: EngineKind;
  quota?: { softBytes?: number; hardBytes?: number; softInodes?: number; hardInodes?: number; graceSeconds?: number };
  /** Register an existing JuiceFS volume instead of formatting a new one. */
  adopt?: { metaUrl: string };
}

/** What the volume service is built from (by the composition root). */
export interface VolumeServiceDeps {
  /** The volumes and their prefix and Redis-database ledgers. */
  store: VolumeStore;
  config: Pick<AppConfig, 'meta' | 'quotas' | 'storage'>;
  /** Formats a new volume's prefix; without one, creation stops at `provisioning`. */
  provisioner?: MetadataProvisioner;
  /** Reads an existing volume's format when one is adopted. */
  metadata?: Pick<VolumeMetadata, 'inspect'>;
  /** The owner must exist, checked in the volume's own transaction. */
  tenants: TenantReadModel;
  /** An active volume's first enforcement state is seeded in the transaction that activates it. */
  enforcementStates: Pick<EnforcementStates, 'seed'>;
}

/** Volume use cases. */
export class VolumeService {
  private readonly store: VolumeStore;
  private readonly config: VolumeServiceDeps['config'];
  private readonly provisioner: MetadataProvisioner | undefined;
  private readonly metadata: Pick<VolumeMetadata, 'inspect'> | undefined;

  constructor(private readonly d: VolumeServiceDeps) {
    this.store = d.store;
    this.config = d.config;
    this.provisioner = d.provisioner;
    this.metadata = d.metadata;
  }

  /**
   * Sets a volume's limits in the caller's transaction: a quota grant or its revert, which
   * audits the change and decides enforcement on it in that same transaction.
   */
  setQuotaIn(trx: Db, volumeId: string, q: Omit<Quota, 'graceSeconds'>): Promise<Volume> {
    return this.store.joined(trx).store.updateQuota(volumeId, q);
  }

  /** Creates (or, for an identical repeat, returns) a volume. */
  async create(actor: Actor, tenantId: string, input: CreateVolumeInput): Promise<{ volume: Volume; created: boolean; credentials?: { accessKey: string; secretKey: string } }> {
    if (input.adopt) return this.adopt(actor, tenantId, input, input.adopt.metaUrl);
    const engine = input.engine ?? this.config.meta.defaultEngine;
    const quota = normaliseQuota(input.quota, this.config.quotas);
    // Hash the normalised request so `{}` and an explicit default are the same request.
    const requestHash = hashRequest({ name: input.name, engine, quota: presentQuota(quota) });
    buildMetaUrl(this.config.meta, engine, 'probe'); // fail fast, before writing anything

    const existing = await this.findRepeat(tenantId, input.name, requestHash);
    if (existing) return { volume: (await this.finishProvisioning(actor, existing)).volume, created: false };
    // A Redis that does not answer must cost a 503, not one of its databases (the PING is out
    // here because nothing external is called inside the transaction below).
    if (engine === 'redis') await assertRedisAnswers(this.config.meta.redisUrl!, this.config.meta.timeoutMs);

    let volume: Volume;
    try {
      volume = await this.store.transaction(async ({ store, audit, trx }) => {
        if (!(await this.d.tenants.find(trx, tenantId))) throw errors.tenantNotFound(tenantId);
        const id = `vol_${ulid().toLowerCase()}`;
        const prefix = await allocatePrefix(store, id, derivePrefix(tenantId, input.name));
        // A Redis volume is a whole database: take one from the pool in this same transaction.
        const redisDb = engine === 'redis' ? await this.allocateRedisDb(store, id) : 0;
        const v = await store.insert({
          id,
          tenantId,
          name: input.name,
          prefix,
          engine,
          metaUrl: buildMetaUrl(this.config.meta, engine, prefix, redisDb),
          quota,
          // The bucket is decided now, before anything exists, so a crash can be finished or undone.
          storage: this.config.storage ? { kind: 's3', bucket: bucketFor(prefix) } : { kind: 'file', bucket: null },
          requestHash,
        });
        await audit(actor, { action: 'volume.created', entityType: 'volume', entityId: id, tenantId, before: null, after: presentVolume(v) });
        return v;
      });
    } catch (err) {
      // Lost a race with a concurrent create of the same name: answer as the repeat would.
      if (isUniqueViolation(err, 'volumes_tenant_name_live')) {
        const winner = await this.findRepeat(tenantId, input.name, requestHash);
        if (winner) return { volume: winner, created: false };
      }
      throw err;
    }
    failpoint('onboarding.after-insert');
    const done = await this.finishProvisioning(actor, volume);
    return { volume: done.volume, created: true, credentials: done.credentials };
  }

  /**
   * Registers an existing JuiceFS volume: reads and checks its setting (never formats), claims its
   * prefix in the ledger so Headroom never allocates it to anyone else, and records it `active`.
   */
  private async adopt(actor: Actor, tenantId: string, input: CreateVolumeInput, metaUrl: string): Promise<{ volume: Volume; created: boolean }> {
    if (input.engine) throw errors.validation('"engine" cannot be given with "adopt": the meta URL names the engine');
    if (!this.metadata) throw errors.unavailable('volume adoption needs the metadata service');
    const quota = normaliseQuota(input.quota, this.config.quotas);
    const requestHash = hashRequest({ name: input.name, adopt: metaUrl, quota: presentQuota(quota) });
    const redis = isRedisUrl(metaUrl) ? redisAdoptionTarget(this.config.meta, metaUrl) : undefined;
    const target = redis ? undefined : adoptionTarget(this.config.meta, metaUrl);
    const existing = await this.findRepeat(tenantId, input.name, requestHash);
    if (existing) return { volume: existing, created: false };
    let identity;
    try {
      identity = await this.metadata.inspect(metaUrl);
    } catch (err) {
      if (err instanceof NotFormattedError || err instanceof CorruptMetadataError) throw errors.notJuiceFs(err.message);
      if (err instanceof DependencyUnavailableError) throw err; // unreachable or hung: 503 naming it
      throw errors.metadataUnavailable(`could not read ${redact(metaUrl)}: ${(err as Error).message}`);
    }
    // A limit the volume already enforces stays its hard limit unless the request names one:
    // otherwise the first unfreeze would write "unlimited" over what its owner had set.
    const kept = keepExistingLimits(quota, identity, this.config.quotas);
    try {
      const volume = await this.store.transaction(async ({ store, audit, trx }) => {
        if (!(await this.d.tenants.find(trx, tenantId))) throw errors.tenantNotFound(tenantId);
        const id = `vol_${ulid().toLowerCase()}`;
        if (redis) {
          // The database is the volume; the ledger prefix only names it (JuiceFS's name is in its setting).
          if (!(await store.claimRedisDb(redis.server, redis.db, id))) throw errors.redisDbInUse(redis.server, redis.db);
          const prefix = await allocatePrefix(store, id, derivePrefix(tenantId, input.name));
          await store.insert({ id, tenantId, name: input.name, prefix, engine: 'redis', metaUrl: redis.metaUrl, quota: kept, requestHash });
        } else {
          if (!(await store.claimPrefix(target!.prefix, id))) throw errors.prefixInUse(target!.prefix);
          await store.insert({ id, tenantId, name: input.name, prefix: target!.prefix, engine: target!.engine, metaUrl, quota: kept, requestHash });
        }
        const v = await store.setState(id, 'active', `adopted JuiceFS volume "${identity.name}" (UUID ${identity.uuid})`);
        await this.d.enforcementStates.seed(trx, id, tenantId, { capacity: identity.capacity, inodes: identity.inodes });
        await audit(actor, { action: 'volume.adopted', entityType: 'volume', entityId: id, tenantId, before: null, after: presentVolume(v) });
        return v;
      });
      return { volume, created: true };
    } catch (err) {
      if (isUniqueViolation(err, 'volumes_tenant_name_live')) {
        const winner = await this.findRepeat(tenantId, input.name, requestHash);
        if (winner) return { volume: winner, created: false };
      }
      throw err;
    }
  }

  private async allocateRedisDb(store: VolumeStore, volumeId: string): Promise<number> {
    const server = parseRedisUrl(this.config.meta.redisUrl!, { requireDb: false }).server;
    return allocateRedisDb(store, server, this.config.meta.redisDbs, volumeId);
  }

  /** The live volume with this name if the request repeats it exactly; 409 if it differs. */
  private async findRepeat(tenantId: string, name: string, requestHash: string): Promise<Volume | undefined> {
    const v = await this.store.findLiveByName(tenantId, name);
    if (v && v.requestHash !== requestHash) throw errors.volumeNameTaken(tenantId, name);
    return v;
  }

  /**
   * Runs the provisioner for a `provisioning` volume and records the outcome; a failure is rolled
   * back (what was created is removed) before the volume is marked `failed`. Also the
   * reconciler's way to finish volumes a crash left in `provisioning`.
   */
  async finishProvisioning(actor: Actor, v: Volume): Promise<{ volume: Volume; credentials?: { accessKey: string; secretKey: string } }> {
    if (v.state !== 'provisioning' || !this.provisioner) return { volume: v };
    let next: VolumeState = 'active';
    let detail: string | null = null;
    let credentials: { accessKey: string; secretKey: string } | undefined;
    try {
      const r = await this.provisioner.provision(v);
      failpoint('onboarding.after-format');
      credentials = r ? r.newCredentials : undefined;
    } catch (err) {
      next = 'failed';
      detail = `provisioning failed: ${(err as Error).message}`;
      try {
        await this.provisioner.rollback?.(v);
      } catch (undo) {
        detail += `; rolling back also failed (the reconciler retries): ${(undo as Error).message}`;
        next = 'provisioning';
      }
    }
    if (next === 'provisioning') return { volume: v };
    return { volume: await this.transition(actor, v.id, ['provisioning'], next, detail, next === 'active' ? 'volume.activated' : 'volume.failed'), credentials };
  }

  /** Volumes left in `provisioning` for longer than `olderThanMs` (a crash mid-onboarding). */
  async stuckProvisioning(olderThanMs: number): Promise<Volume[]> {
    const rows = await this.store.list({ state: 'provisioning', limit: 100 });
    return rows.filter((v) => Date.now() - v.updatedAt.getTime() >= olderThanMs);
  }

  /** Moves a volume between states under a row lock, auditing the change. */
  private async transition(actor: Actor, volumeId: string, from: VolumeState[], to: VolumeState, detail: string | null, action: string): Promise<Volume> {
    return this.store.transaction(async ({ store, audit, trx }) => {
      const before = await store.find(volumeId, { forUpdate: true });
      if (!before) throw errors.volumeNotFound(volumeId);
      if (!from.includes(before.state)) return before;
      const after = await store.setState(volumeId, to, detail);
      if (to === 'deleting') await store.retirePrefix(before.prefix);
      // Formatting wrote the hard limits as JuiceFS Capacity/Inodes (0 = unlimited).
      if (to === 'active') await this.d.enforcementStates.seed(trx, volumeId, before.tenantId, { capacity: before.quota.hardBytes ?? 0n, inodes: before.quota.hardInodes ?? 0n });
      await audit(actor, { action, entityType: 'volume', entityId: volumeId, tenantId: before.tenantId, before: presentVolume(before), after: presentVolume(after) });
      return after;
    });
  }

  /** A volume the caller may see; anything else is "not found", never "forbidden". */
  async get(principal: Principal, volumeId: string): Promise<Volume> {
    const v = await this.store.find(volumeId);
    if (!v || !canSeeTenant(principal, v.tenantId)) throw errors.volumeNotFound(volumeId);
    return v;
  }

  /**
   * A volume by id for Headroom's own background work (the applier, passes), which acts for no
   * caller: no tenant check, undefined when absent.
   */
  find(volumeId: string): Promise<Volume | undefined> {
    return this.store.find(volumeId);
  }

  /** A page of active volumes for background work (passes, walks), in id order. */
  listActive(page: { afterId?: string; limit: number }): Promise<Volume[]> {
    return this.store.list({ state: 'active', afterId: page.afterId, limit: page.limit });
  }

  /** Volumes the caller may see, filtered. */
  async list(principal: Principal, f: { tenantId?: string; state?: VolumeState; afterId?: string; limit: number }): Promise<Volume[]> {
    const visible = visibleTenants(principal);
    let tenantIds = visible;
    if (f.tenantId) tenantIds = visible && !visible.includes(f.tenantId) ? [] : [f.tenantId];
    return this.store.list({ tenantIds, state: f.state, afterId: f.afterId, limit: f.limit });
  }

  /** Soft delete: state `deleting`, prefix retired forever, data kept for a later purge. */
  async delete(actor: Actor, volumeId: string): Promise<Volume> {
    return this.transition(actor, volumeId, ['provisioning', 'active', 'failed'], 'deleting', null, 'volume.deleted');
  }
}
