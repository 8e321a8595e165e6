/** The PostgreSQL {@link RuleStore} over the `quota_rules` table. Row mapping stays private to this file. */
import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit-log.js';
import { inTransaction, type Db } from '../db/database.js';
import type { Rule } from './auto-approval.js';
import type { NewRule, RuleStore, RuleUnitOfWork, StoredRule } from './rule-store.js';

const fromRow = (r: Record<string, unknown>): StoredRule => ({
  id: r.id as string,
  tier: r.tier as string,
  kind: r.kind as Rule['kind'],
  params: r.params as Record<string, unknown>,
  position: r.position as number,
  enabled: r.enabled as boolean,
  description: (r.description as string | null) ?? null,
  createdBy: r.created_by as string,
  createdAt: r.created_at as Date,
  updatedAt: r.updated_at as Date,
});

/** {@link RuleStore} over PostgreSQL; `db` is the pool or, inside `transaction`, the transaction. */
export class KnexRuleStore implements RuleStore {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: (uow: RuleUnitOfWork) => Promise<T>): Promise<T> {
    return inTransaction(this.db as Knex, (trx) => fn(this.joined(trx)));
  }

  joined(trx: Db): RuleUnitOfWork {
    return { store: new KnexRuleStore(trx), audit: (actor, e) => recordAudit(trx, actor, e) };
  }

  async list(tier?: string): Promise<StoredRule[]> {
    const q = this.db('quota_rules').orderBy([{ column: 'tier' }, { column: 'position' }, { column: 'id' }]);
    if (tier) q.where({ tier });
    return ((await q) as Record<string, unknown>[]).map(fromRow);
  }

  async find(id: string): Promise<StoredRule | undefined> {
    const r = (await this.db('quota_rules').where({ id }).first()) as Record<string, unknown> | undefined;
    return r && fromRow(r);
  }

  async save(r: NewRule): Promise<StoredRule> {
    // One statement: a replace keeps created_by and created_at, and returns its new updated_at.
    const rows = (await this.db('quota_rules')
      .insert({
        id: r.id,
        tier: r.tier,
        kind: r.kind,
        params: JSON.stringify(r.params),
        position: r.position,
        enabled: r.enabled,
        description: r.description,
        created_by: r.createdBy,
        updated_at: this.db.fn.now(),
      })
      .onConflict('id')
      .merge(['tier', 'kind', 'params', 'position', 'enabled', 'description', 'updated_at'])
      .returning('*')) as Record<string, unknown>[];
    return fromRow(rows[0]!);
  }

  async remove(id: string): Promise<boolean> {
    return (await this.db('quota_rules').where({ id }).delete()) > 0;
  }
}
