/**
 * The in-memory {@link RuleStore} of unit tests. `transaction` snapshots the rules and audit rows
 * and puts them back when `fn` throws, as PostgreSQL's rollback would. Tiers and ids sort by code
 * point (PostgreSQL by the database's collation, which may place punctuation differently; plain
 * letters and digits sort the same under both). Passes test/contract/rule-store.contract.ts.
 */
import { copyMap, fakeAudit, fakeTransaction, type FakeAuditRows } from '../lib/in-memory-transactions.js';
import type { NewRule, RuleStore, RuleUnitOfWork, StoredRule } from './rule-store.js';

const copy = (r: StoredRule): StoredRule => ({ ...r, params: structuredClone(r.params) });
const cmp = (a: string | number, b: string | number) => (a < b ? -1 : a > b ? 1 : 0);

/** {@link RuleStore} in memory. */
export class FakeRuleStore implements RuleStore {
  private rows = new Map<string, StoredRule>();
  /** Audit rows written through a unit of work, in order. */
  audits: FakeAuditRows = [];
  /** Rows' clock (tests may move it). */
  now = () => new Date();

  async transaction<T>(fn: (uow: RuleUnitOfWork) => Promise<T>): Promise<T> {
    return fakeTransaction(
      this,
      () => ({ rows: copyMap(this.rows, copy) }),
      () => fn(this.joined()),
    );
  }

  /** The outer transaction is the caller's: writes land at once and are not rolled back here. */
  joined(): RuleUnitOfWork {
    return { store: this, audit: fakeAudit(this) };
  }

  async list(tier?: string): Promise<StoredRule[]> {
    return [...this.rows.values()]
      .filter((r) => !tier || r.tier === tier)
      .sort((a, b) => cmp(a.tier, b.tier) || cmp(a.position, b.position) || cmp(a.id, b.id))
      .map(copy);
  }

  async find(id: string): Promise<StoredRule | undefined> {
    const r = this.rows.get(id);
    return r && copy(r);
  }

  async save(r: NewRule): Promise<StoredRule> {
    const before = this.rows.get(r.id);
    const at = this.now();
    const row: StoredRule = {
      id: r.id,
      tier: r.tier,
      kind: r.kind,
      // Stored as JSON: what comes back is what JSON keeps.
      params: JSON.parse(JSON.stringify(r.params)) as Record<string, unknown>,
      position: r.position,
      enabled: r.enabled,
      description: r.description,
      createdBy: before?.createdBy ?? r.createdBy,
      createdAt: before?.createdAt ?? at,
      updatedAt: at,
    };
    this.rows.set(r.id, row);
    return copy(row);
  }

  async remove(id: string): Promise<boolean> {
    return this.rows.delete(id);
  }
}
