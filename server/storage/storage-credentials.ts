/**
 * Rotation of tenants' storage keys. A rotation seals a new key into PostgreSQL (with its audit
 * row), then adds it to the tenant's SeaweedFS identity beside the old one, and shows its secret
 * once. The old key keeps working for the overlap (STORAGE_KEY_OVERLAP_SECONDS) so running
 * mounts can be moved over; the reconcile pass after that revokes it. Rotating is also how a
 * tenant whose key was never shown (a crash between onboarding and the answer) gets one.
 *
 * No column records when a rotation happened: a rotated access key id carries its issue time
 * (`HRT` + milliseconds in base 36 + random), so PostgreSQL (the current key) and SeaweedFS (every
 * key the identity holds) are all the state there is, and a crash at any step is finished by the
 * next pass: a current key SeaweedFS lacks is added again, older keys past the overlap revoked.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { Actor } from '../audit/audit-log.js';
import type { Principal } from '../auth/principal.js';
import { DependencyUnavailableError } from '../lib/deadline.js';
import { errors } from '../lib/errors.js';
import type { TenantReadModel } from '../tenants/tenant-read-model.js';
import type { IdentityStore, StoredIdentity, TenantBuckets } from './identity-store.js';
import type { SecretBox } from './secret-box.js';
import type { SeaweedStorage } from './seaweedfs/seaweedfs-storage.js';

/** Access key ids made by a rotation start with this; onboarding's first keys (`HR…`) do not. */
export const ROTATED_KEY_PREFIX = 'HRT';
const RECONCILER: Actor = { sub: 'system:reconciler', role: 'system' };
/** After the overlap, a rotation is looked at for this long more (retrying a failed revoke), then left alone. */
const FOLLOW_UP_MS = 7 * 86_400_000;

/** A new access key id carrying its issue time: 3 + 9 + 8 = 20 characters, like onboarding's. */
export function newAccessKey(nowMs: number): string {
  return `${ROTATED_KEY_PREFIX}${nowMs.toString(36).toUpperCase().padStart(9, '0')}${randomBytes(4).toString('hex').toUpperCase()}`;
}

/** When a rotated key was issued; undefined for onboarding's keys (always older than any rotated one). */
export function issuedAtOf(accessKey: string): number | undefined {
  if (!accessKey.startsWith(ROTATED_KEY_PREFIX) || accessKey.length !== 20) return undefined;
  const ms = parseInt(accessKey.slice(3, 12), 36);
  return Number.isFinite(ms) ? ms : undefined;
}

/** Whether `key` was issued before `current` (so a finished rotation may revoke it). */
function olderThan(key: string, current: string): boolean {
  const k = issuedAtOf(key);
  const c = issuedAtOf(current);
  return c !== undefined && key !== current && (k === undefined || k < c);
}

/** What a rotation answers (the secret only here). */
export interface RotatedKey {
  tenantId: string;
  accessKey: string;
  secretKey: string;
  previousAccessKey: string;
  previousValidUntil: Date;
}

/** What key rotation works with. */
export interface StorageCredentialsDeps {
  identities: IdentityStore;
  /** Whether a tenant without an identity exists (404 or 409), read in the rotation's transaction. */
  tenants: TenantReadModel;
  /** The buckets a tenant's keys may reach. */
  buckets: TenantBuckets;
  log: Logger;
  /** Absent when SeaweedFS is not configured: every rotation is then a 409. */
  seaweed: { storage: SeaweedStorage; box: SecretBox } | undefined;
  overlapMs: number;
  now?: () => number;
}

/** Rotates tenants' storage keys and finishes rotations (from the reconcile job). */
export class StorageCredentials {
  private readonly identities: IdentityStore;
  private readonly log: Logger;
  private readonly seaweed: StorageCredentialsDeps['seaweed'];
  private readonly overlapMs: number;
  private readonly now: () => number;

  constructor(private readonly d: StorageCredentialsDeps) {
    ({ identities: this.identities, log: this.log, seaweed: this.seaweed, overlapMs: this.overlapMs } = d);
    this.now = d.now ?? Date.now;
  }

  /** Issues a new key for the tenant; admins and the tenant's engineers (who may see its keys). */
  async rotate(actor: Actor, principal: Principal, tenantId: string): Promise<RotatedKey> {
    if (principal.role === 'engineer' && !principal.tenants.includes(tenantId)) throw errors.tenantNotFound(tenantId);
    if (principal.role !== 'admin' && principal.role !== 'engineer') throw errors.forbidden(`role "${principal.role}" may not rotate storage keys; needs one of: admin, engineer`);
    if (!this.seaweed) throw errors.storageNotConfigured();
    const { storage, box } = this.seaweed;
    const now = this.now();
    const keys = { accessKey: newAccessKey(now), secretKey: randomBytes(30).toString('base64url') };
    const previousValidUntil = new Date(now + this.overlapMs);
    // Sealed into PostgreSQL first (as onboarding does): SeaweedFS then only ever holds keys we can open again.
    const identity = await this.identities.transaction(async ({ store, audit, trx }) => {
      const row = await store.find(tenantId, { forUpdate: true });
      if (!row) throw (await this.d.tenants.find(trx, tenantId)) ? errors.noStorageIdentity(tenantId) : errors.tenantNotFound(tenantId);
      await store.updateKey(tenantId, keys.accessKey, box.seal(keys.secretKey));
      await audit(actor, {
        action: 'tenant.storage_key_rotated',
        entityType: 'tenant',
        entityId: tenantId,
        tenantId,
        before: { accessKey: row.accessKey },
        after: { accessKey: keys.accessKey, previousValidUntil: previousValidUntil.toISOString() },
      });
      return row;
    });
    try {
      await storage.ensureIdentity(identity.name, keys, await this.d.buckets(tenantId));
    } catch (err) {
      this.log.warn({ err, tenantId }, 'a rotated storage key could not be given to SeaweedFS; the reconciler retries');
      // Not shown: a key SeaweedFS may not know yet is no use to the caller; a new rotation issues another.
      throw new DependencyUnavailableError('object store (SeaweedFS IAM)', `the new key was not accepted (${(err as Error).message}); rotate again, the previous key still works`);
    }
    return { tenantId, ...keys, previousAccessKey: identity.accessKey, previousValidUntil };
  }

  /**
   * Finishes rotations: a current key SeaweedFS lacks (a crash after the commit) is added again;
   * keys older than the current one are revoked once its overlap has passed. Failures are
   * logged and retried by the next pass.
   */
  async finishRotations(): Promise<{ keysRevoked: number; keysRestored: number; rotationErrors: number }> {
    const counts = { keysRevoked: 0, keysRestored: 0, rotationErrors: 0 };
    if (!this.seaweed) return counts;
    const now = this.now();
    for (const id of await this.identities.withKeyPrefix(ROTATED_KEY_PREFIX)) {
      const issued = issuedAtOf(id.accessKey);
      if (issued === undefined || now > issued + this.overlapMs + FOLLOW_UP_MS) continue;
      try {
        const r = await this.finishOne(id, now >= issued + this.overlapMs);
        counts.keysRevoked += r.revoked;
        counts.keysRestored += r.restored;
      } catch (err) {
        counts.rotationErrors++;
        this.log.warn({ err, tenantId: id.tenantId }, 'finishing a storage key rotation failed; the next pass retries');
      }
    }
    return counts;
  }

  private async finishOne(id: StoredIdentity, due: boolean): Promise<{ revoked: number; restored: number }> {
    const { storage, box } = this.seaweed!;
    const held = await storage.accessKeys(id.name);
    let restored = 0;
    if (!held.includes(id.accessKey)) {
      await storage.ensureIdentity(id.name, { accessKey: id.accessKey, secretKey: box.open(id.secretEnc) }, await this.d.buckets(id.tenantId));
      restored = 1;
    }
    // Only keys older than the current one: a rotation racing this pass adds a newer key, never revoked here.
    const old = due ? held.filter((k) => olderThan(k, id.accessKey)) : [];
    for (const k of old) await storage.deleteAccessKey(id.name, k);
    if (old.length) {
      await this.identities.transaction(({ audit }) =>
        audit(RECONCILER, {
          action: 'tenant.storage_key_revoked',
          entityType: 'tenant',
          entityId: id.tenantId,
          tenantId: id.tenantId,
          before: { accessKeys: old },
          after: { accessKey: id.accessKey },
        }),
      );
      this.log.info({ tenantId: id.tenantId, revoked: old.length }, 'previous storage keys revoked after the rotation overlap');
    }
    return { revoked: old.length, restored };
  }
}
