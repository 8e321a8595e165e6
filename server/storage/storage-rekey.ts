/**
 * Re-sealing of tenants' storage secret keys under the current master key (`npm run rekey`, after
 * STORAGE_SECRET_KEY changed and the old key moved to STORAGE_SECRET_KEY_PREVIOUS). Each value is
 * replaced only if it is still what was read (a rotation meanwhile wins), with its audit row in
 * the same transaction. Nothing here calls SeaweedFS: the keys themselves do not change.
 */
import type { Knex } from 'knex';
import type { Actor } from '../audit/audit-log.js';
import type { IdentityStore } from './identity-store.js';
import { KnexIdentityStore } from './knex-identity-store.js';
import { SecretBox } from './secret-box.js';

const REKEY: Actor = { sub: 'system:rekey', role: 'system' };

/** What a rekey did. */
export interface RekeyResult {
  /** The master key every value is now sealed with. */
  keyId: string;
  resealed: number;
  alreadyCurrent: number;
  /** Tenants whose value none of the given keys opens (left as they are). */
  unreadable: string[];
}

/**
 * Re-seals every sealed storage secret that another key (or no key id) sealed. Called by the
 * script with its pool (the PostgreSQL store is built here), or with a store (tests).
 */
export async function rekeyStorageSecrets(db: Knex | IdentityStore, box: SecretBox): Promise<RekeyResult> {
  const identities = 'sealedSecrets' in db ? db : new KnexIdentityStore(db);
  const out: RekeyResult = { keyId: box.keyId, resealed: 0, alreadyCurrent: 0, unreadable: [] };
  for (const row of await identities.sealedSecrets()) {
    if (!box.needsReseal(row.secretEnc)) {
      out.alreadyCurrent++;
      continue;
    }
    let plain: string;
    try {
      plain = box.open(row.secretEnc);
    } catch {
      out.unreadable.push(row.tenantId);
      continue;
    }
    const done = await identities.transaction(async ({ store, audit }) => {
      if (!(await store.reseal(row.tenantId, row.secretEnc, box.seal(plain)))) return false;
      const before = { masterKeyId: SecretBox.keyIdOf(row.secretEnc) ?? null };
      await audit(REKEY, { action: 'tenant.storage_secret_resealed', entityType: 'tenant', entityId: row.tenantId, tenantId: row.tenantId, before, after: { masterKeyId: box.keyId } });
      return true;
    });
    if (done) out.resealed++;
  }
  return out;
}
