/**
 * The store of auto-approval rules (`quota_rules`), per tenant tier. `KnexRuleStore` implements
 * it over PostgreSQL and `FakeRuleStore` in memory; both pass test/contract/rule-store.contract.ts.
 * Stores never open transactions on their own: `transaction` hands the use case a store bound to
 * one, plus the audit writer of that same transaction.
 */
import type { Actor, AuditInput } from '../audit/audit-log.js';
import type { Db } from '../db/database.js';
import type { Rule } from './auto-approval.js';

/** A rule as stored, with what the API shows around it. */
export interface StoredRule {
  id: string;
  tier: string;
  kind: Rule['kind'];
  params: Record<string, unknown>;
  position: number;
  enabled: boolean;
  description: string | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

/** A rule as saved; on a replace, `createdBy` and `createdAt` stay those of the first save. */
export type NewRule = Omit<StoredRule, 'createdAt' | 'updatedAt'>;

/** What one transaction of a rule use case sees. */
export interface RuleUnitOfWork {
  store: RuleStore;
  /** Appends an audit row in this transaction. */
  audit(actor: Actor, e: AuditInput): Promise<void>;
}

/** Auto-approval rules. */
export interface RuleStore {
  /** Runs `fn` in one transaction; a throw rolls back every write, audit rows included. */
  transaction<T>(fn: (uow: RuleUnitOfWork) => Promise<T>): Promise<T>;
  /** The unit of work of a transaction another feature opened and owns: the caller commits or rolls back. */
  joined(trx: Db): RuleUnitOfWork;
  /** Rules, optionally of one tier, in evaluation order (tier, position, id). */
  list(tier?: string): Promise<StoredRule[]>;
  find(id: string): Promise<StoredRule | undefined>;
  /** Inserts or replaces a rule; the stored image. */
  save(r: NewRule): Promise<StoredRule>;
  /** Deletes a rule; true if it existed. */
  remove(id: string): Promise<boolean>;
}

// Quota requests and rule previews read rules inside transactions of their own with these two
// (they predate the store; writes go through it). They run the knex store's SQL.

/** The policy's view of a stored rule (numbers as the pure function wants them). */
export function toPolicyRule(r: StoredRule): Rule {
  const p = r.params;
  const big = (x: unknown) => (x === null || x === undefined ? null : BigInt(x as number | string));
  switch (r.kind) {
    case 'percent_increase':
      return { id: r.id, kind: r.kind, maxPercent: Number(p.maxPercent), cooldownDays: Number(p.cooldownDays ?? 0) };
    case 'temporary_grant':
      return { id: r.id, kind: r.kind, maxFactor: Number(p.maxFactor), maxDays: Number(p.maxDays) };
    case 'tier_ceiling':
      return { id: r.id, kind: r.kind, maxHardBytes: big(p.maxHardBytes), maxHardInodes: big(p.maxHardInodes) };
  }
}
