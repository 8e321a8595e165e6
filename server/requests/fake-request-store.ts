/**
 * The in-memory {@link RequestStore} of unit tests. `transaction` snapshots the rows and audit
 * rows and puts them back when `fn` throws, so "a refused decision writes nothing" holds here as
 * it does in PostgreSQL. A second pending request of a target throws an error shaped like
 * PostgreSQL's unique violation (code 23505 and the index's name), which is what the service
 * recognises. Ids sort by code point (ours are ULIDs, the same under any collation). Passes
 * test/contract/request-store.contract.ts.
 */
import type { Db } from '../db/database.js';
import { copyMap, FAKE_TRX, fakeAudit, fakeTransaction, type FakeAuditRows } from '../lib/in-memory-transactions.js';
import type { NewRequest, QuotaRequest, RequestFilter, RequestPatch, RequestStore, RequestUnitOfWork } from './request-store.js';

const copy = (r: QuotaRequest): QuotaRequest => ({
  ...r,
  directoryPath: r.directoryPath && Buffer.from(r.directoryPath),
  requested: { ...r.requested },
  granted: r.granted && { ...r.granted },
  previous: r.previous && { ...r.previous },
});
const sameTarget = (r: QuotaRequest, volumeId: string, directoryQuotaId: string | null) => r.volumeId === volumeId && r.directoryQuotaId === directoryQuotaId;

/** {@link RequestStore} in memory. */
export class FakeRequestStore implements RequestStore {
  private rows = new Map<string, QuotaRequest>();
  /** Audit rows written through a unit of work, in order. */
  audits: FakeAuditRows = [];
  /** Rows' clock (tests may move it). */
  now = () => new Date();

  async transaction<T>(fn: (uow: RequestUnitOfWork) => Promise<T>): Promise<T> {
    return fakeTransaction(
      this,
      () => ({ rows: copyMap(this.rows, copy) }),
      () => fn(this.joined(FAKE_TRX)),
    );
  }

  /** The outer transaction is the caller's: writes land at once and are not rolled back here. */
  joined(trx: Db = FAKE_TRX): RequestUnitOfWork {
    return { trx, store: this, audit: fakeAudit(this) };
  }

  async insert(r: NewRequest): Promise<QuotaRequest> {
    const dir = r.directoryQuotaId ?? null;
    if ([...this.rows.values()].some((o) => o.state === 'pending' && (dir === null ? sameTarget(o, r.volumeId, null) : o.directoryQuotaId === dir))) {
      const constraint = dir === null ? 'quota_requests_one_pending' : 'quota_requests_one_pending_directory';
      throw Object.assign(new Error(`duplicate key value violates unique constraint "${constraint}"`), { code: '23505', constraint });
    }
    const row: QuotaRequest = {
      id: r.id,
      volumeId: r.volumeId,
      directoryQuotaId: dir,
      directoryPath: r.directoryPath ? Buffer.from(r.directoryPath) : null,
      tenantId: r.tenantId,
      requestedBy: r.requestedBy,
      state: 'pending',
      reason: r.reason,
      requested: { ...r.requested },
      granted: null,
      previous: null,
      until: r.until,
      ruleId: null,
      explanation: r.explanation,
      decidedBy: null,
      decidedAt: null,
      comment: null,
      revertedAt: null,
      createdAt: this.now(),
    };
    this.rows.set(r.id, row);
    return copy(row);
  }

  async find(tenantIds: readonly string[] | undefined, id: string): Promise<QuotaRequest | undefined> {
    const r = this.rows.get(id);
    return r && (!tenantIds || tenantIds.includes(r.tenantId)) ? copy(r) : undefined;
  }

  async update(id: string, patch: RequestPatch): Promise<QuotaRequest> {
    const r = this.rows.get(id);
    if (!r) throw new Error(`no quota request ${id}`);
    const { decided, reverted, ...fields } = patch;
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) Object.assign(r, { [k]: v !== null && typeof v === 'object' && !(v instanceof Date) ? { ...v } : v });
    if (decided) r.decidedAt = this.now();
    if (reverted) r.revertedAt = this.now();
    return copy(r);
  }

  async list(f: RequestFilter): Promise<QuotaRequest[]> {
    return [...this.rows.values()]
      .filter((r) => (!f.tenantIds || f.tenantIds.includes(r.tenantId)) && (!f.state || r.state === f.state) && (!f.volumeId || r.volumeId === f.volumeId) && (!f.beforeId || r.id < f.beforeId))
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, f.limit)
      .map(copy);
  }

  async pending(volumeId: string, directoryQuotaId: string | null = null): Promise<QuotaRequest | undefined> {
    const r = [...this.rows.values()].find((o) => o.state === 'pending' && sameTarget(o, volumeId, directoryQuotaId));
    return r && copy(r);
  }

  async lastAutoApproval(volumeId: string, directoryQuotaId: string | null = null): Promise<Date | null> {
    let last: Date | null = null;
    for (const r of this.rows.values()) {
      if (r.state !== 'approved' || r.ruleId === null || !r.decidedAt || !sameTarget(r, volumeId, directoryQuotaId)) continue;
      if (!last || r.decidedAt > last) last = r.decidedAt;
    }
    return last;
  }

  async dueGrants(now: Date, limit = 500): Promise<QuotaRequest[]> {
    return [...this.rows.values()]
      .filter((r) => r.state === 'approved' && r.until !== null && r.revertedAt === null && r.until <= now)
      .sort((a, b) => a.until!.getTime() - b.until!.getTime())
      .slice(0, limit)
      .map(copy);
  }
}
