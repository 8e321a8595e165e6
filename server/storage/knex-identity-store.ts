/** The PostgreSQL {@link IdentityStore} over `storage_identities`. Row mapping stays private to this file. */
import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit-log.js';
import { inTransaction, type Db } from '../db/database.js';
import type { IdentityStore, IdentityUnitOfWork, NewIdentity, StoredIdentity } from './identity-store.js';

interface IdentityRow {
  tenant_id: string;
  name: string;
  access_key: string;
  secret_enc: string;
  created_at: Date;
}

const fromRow = (r: IdentityRow): StoredIdentity => ({ tenantId: r.tenant_id, name: r.name, accessKey: r.access_key, secretEnc: r.secret_enc, createdAt: r.created_at });

/** {@link IdentityStore} over PostgreSQL; `db` is the pool or, inside `transaction`, the transaction. */
export class KnexIdentityStore implements IdentityStore {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: (uow: IdentityUnitOfWork) => Promise<T>): Promise<T> {
    return inTransaction(this.db as Knex, (trx) => fn(this.joined(trx)));
  }

  joined(trx: Db): IdentityUnitOfWork {
    return { store: new KnexIdentityStore(trx), audit: (actor, e) => recordAudit(trx, actor, e), trx };
  }

  async find(tenantId: string, opts: { forUpdate?: boolean } = {}): Promise<StoredIdentity | undefined> {
    const q = this.db('storage_identities').where({ tenant_id: tenantId }).first();
    if (opts.forUpdate) q.forUpdate();
    const row = (await q) as IdentityRow | undefined;
    return row && fromRow(row);
  }

  async insert(i: NewIdentity): Promise<boolean> {
    const rows = (await this.db('storage_identities')
      .insert({ tenant_id: i.tenantId, name: i.name, access_key: i.accessKey, secret_enc: i.secretEnc })
      .onConflict('tenant_id')
      .ignore()
      .returning('tenant_id')) as unknown[];
    return rows.length > 0;
  }

  async updateKey(tenantId: string, accessKey: string, secretEnc: string): Promise<void> {
    await this.db('storage_identities').where({ tenant_id: tenantId }).update({ access_key: accessKey, secret_enc: secretEnc });
  }

  async withKeyPrefix(prefix: string): Promise<StoredIdentity[]> {
    // The prefix is ours (a constant of letters), so LIKE needs no escaping.
    return ((await this.db('storage_identities').whereLike('access_key', `${prefix}%`).orderBy('tenant_id')) as IdentityRow[]).map(fromRow);
  }

  async sealedSecrets(): Promise<{ tenantId: string; secretEnc: string }[]> {
    const rows = (await this.db('storage_identities').select('tenant_id', 'secret_enc').orderBy('tenant_id')) as Pick<IdentityRow, 'tenant_id' | 'secret_enc'>[];
    return rows.map((r) => ({ tenantId: r.tenant_id, secretEnc: r.secret_enc }));
  }

  async reseal(tenantId: string, expected: string, secretEnc: string): Promise<boolean> {
    return (await this.db('storage_identities').where({ tenant_id: tenantId, secret_enc: expected }).update({ secret_enc: secretEnc })) > 0;
  }
}
