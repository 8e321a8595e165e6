/**
 * The in-memory {@link DirectoryQuotaStore} of unit tests. `transaction` snapshots the rows and
 * audit rows and puts them back when `fn` throws, so "a refused request writes nothing" holds
 * here as it does in PostgreSQL. Passes test/contract/directory-quota-store.contract.ts.
 */
import type { Actor, AuditInput } from '../audit/audit-log.js';
import type { NewNotice } from '../notifications/notice.js';
import { freshEnforcement, type DirectoryQuota, type NewDirectoryQuota, type ObservedLimits, type QuotaKind } from './directory-quota.js';
import { DirectoryQuotaExistsError, type DirectoryQuotaPatch, type DirectoryQuotaStore, type DirectoryQuotaUnitOfWork } from './directory-quota-store.js';

const copy = (q: DirectoryQuota): DirectoryQuota => ({
  ...q,
  path: Buffer.from(q.path),
  quota: { ...q.quota },
  observed: q.observed && { ...q.observed },
  enforcement: { ...q.enforcement, manual: q.enforcement.manual && { ...q.enforcement.manual }, desired: q.enforcement.desired && { ...q.enforcement.desired } },
});

/** {@link DirectoryQuotaStore} in memory. */
export class FakeDirectoryQuotaStore implements DirectoryQuotaStore {
  private rows = new Map<string, DirectoryQuota>();
  /** Audit rows written through `transaction`, in order. */
  audits: Array<{ actor: Actor } & AuditInput> = [];
  /** Notices enqueued through `transaction`, one per event key. */
  notices: NewNotice[] = [];
  /** Rows' clock (tests may move it). */
  now = () => new Date();

  async transaction<T>(fn: (uow: DirectoryQuotaUnitOfWork) => Promise<T>): Promise<T> {
    const rows = new Map([...this.rows].map(([k, v]) => [k, copy(v)]));
    const audits = [...this.audits];
    const notices = [...this.notices];
    const notify = async (n: NewNotice) => void (this.notices.some((x) => x.eventKey === n.eventKey) || this.notices.push(n));
    try {
      return await fn({ store: this, audit: async (actor, e) => void this.audits.push({ actor, ...e }), notify });
    } catch (err) {
      this.rows = rows;
      this.audits = audits;
      this.notices = notices;
      throw err;
    }
  }

  /** The outer transaction is the caller's: writes land at once and are not rolled back here. */
  joined(): DirectoryQuotaUnitOfWork {
    const notify = async (n: NewNotice) => void (this.notices.some((x) => x.eventKey === n.eventKey) || this.notices.push(n));
    return { store: this, audit: async (actor, e) => void this.audits.push({ actor, ...e }), notify };
  }

  async insert(q: NewDirectoryQuota): Promise<DirectoryQuota> {
    if ([...this.rows.values()].some((r) => r.volumeId === q.volumeId && r.kind === (q.kind ?? 'dir') && r.inode === q.inode)) throw new DirectoryQuotaExistsError(q.volumeId, q.inode);
    const at = this.now();
    const row: DirectoryQuota = {
      id: q.id,
      tenantId: q.tenantId,
      volumeId: q.volumeId,
      kind: q.kind ?? 'dir',
      path: Buffer.from(q.path),
      inode: q.inode,
      quota: { ...q.quota },
      ownerSub: q.ownerSub,
      managed: q.managed,
      native: q.native,
      state: 'active',
      generation: 1n,
      appliedGeneration: q.applied ? 1n : 0n,
      observed: q.observed ? { ...q.observed } : null,
      lastError: null,
      lastErrorAt: null,
      enforcement: freshEnforcement(at),
      walkUsage: null,
      createdAt: at,
      updatedAt: at,
    };
    this.rows.set(q.id, row);
    return copy(row);
  }

  private get(tenantId: string, id: string): DirectoryQuota | undefined {
    const r = this.rows.get(id);
    return r && r.tenantId === tenantId ? r : undefined;
  }

  async find(tenantId: string, id: string): Promise<DirectoryQuota | undefined> {
    const r = this.get(tenantId, id);
    return r && copy(r);
  }

  async findByInode(tenantId: string, volumeId: string, inode: bigint, kind: QuotaKind = 'dir'): Promise<DirectoryQuota | undefined> {
    const r = [...this.rows.values()].find((x) => x.tenantId === tenantId && x.volumeId === volumeId && x.kind === kind && x.inode === inode);
    return r && copy(r);
  }

  async list(tenantId: string, volumeId: string, opts: { ownerSub?: string; afterId?: string; limit: number; kind?: QuotaKind }): Promise<DirectoryQuota[]> {
    return [...this.rows.values()]
      .filter(
        (r) =>
          r.tenantId === tenantId &&
          r.volumeId === volumeId &&
          r.kind === (opts.kind ?? 'dir') &&
          (opts.ownerSub === undefined || r.ownerSub === opts.ownerSub) &&
          (!opts.afterId || r.id > opts.afterId),
      )
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, opts.limit)
      .map(copy);
  }

  async update(tenantId: string, id: string, p: DirectoryQuotaPatch): Promise<DirectoryQuota | undefined> {
    const r = this.get(tenantId, id);
    if (!r) return undefined;
    if (p.quota) r.quota = { ...p.quota };
    if (p.ownerSub !== undefined) r.ownerSub = p.ownerSub;
    if (p.managed !== undefined) r.managed = p.managed;
    if (p.state !== undefined) r.state = p.state;
    if (p.enforcement) r.enforcement = copy({ ...r, enforcement: p.enforcement }).enforcement;
    if (p.bump) r.generation += 1n;
    r.updatedAt = this.now();
    return copy(r);
  }

  async recordApplied(tenantId: string, id: string, generation: bigint, observed: ObservedLimits | null, at: Date): Promise<boolean> {
    const r = this.get(tenantId, id);
    if (!r || r.appliedGeneration > generation) return false;
    Object.assign(r, { appliedGeneration: generation, observed: observed && { ...observed }, lastError: null, lastErrorAt: null, updatedAt: at });
    return true;
  }

  async recordApplyError(tenantId: string, id: string, error: string, at: Date): Promise<void> {
    const r = this.get(tenantId, id);
    if (r) Object.assign(r, { lastError: error.slice(0, 2000), lastErrorAt: at });
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    return this.get(tenantId, id) ? this.rows.delete(id) : false;
  }

  async enforceable(page: { afterId?: string; limit: number }): Promise<DirectoryQuota[]> {
    return [...this.rows.values()]
      .filter((r) => r.state === 'active' && r.managed && (r.native || r.quota.softBytes !== null || r.quota.softInodes !== null) && (!page.afterId || r.id > page.afterId))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, page.limit)
      .map(copy);
  }

  async recordWalkUsage(tenantId: string, id: string, u: { bytes: bigint; inodes: bigint; at: Date }): Promise<void> {
    const r = this.get(tenantId, id);
    if (r) r.walkUsage = { ...u };
  }

  async pending(limit: number): Promise<DirectoryQuota[]> {
    return [...this.rows.values()]
      .filter((r) => r.appliedGeneration < r.generation || r.state === 'deleting')
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map(copy);
  }
}
