/**
 * The in-memory {@link DirectoryQuotaStore} of unit tests. `transaction` snapshots the rows and
 * audit rows and puts them back when `fn` throws, so "a refused request writes nothing" holds
 * here as it does in PostgreSQL. Passes test/contract/directory-quota-store.contract.ts.
 */
import { copyMap, fakeAudit, fakeTransaction, type FakeAuditRows } from '../lib/in-memory-transactions.js';
import type { NewNotice } from '../notifications/notice.js';
import { downsampleCutoffs, type Resolution } from '../quotas/sample-retention.js';
import { freshEnforcement, type DirectoryQuota, type NewDirectoryQuota, type ObservedLimits, type QuotaKind } from './directory-quota.js';
import {
  DirectoryQuotaExistsError,
  type DirectoryQuotaPatch,
  type DirectoryQuotaSample,
  type DirectoryQuotaStore,
  type DirectoryQuotaUnitOfWork,
  type NewDirectoryQuotaSample,
} from './directory-quota-store.js';

/** A stored sample with its keys. */
type SampleRow = DirectoryQuotaSample & { quotaId: string; tenantId: string };
const HOUR = 3_600_000;
const UNIT_MS = { hour: HOUR, day: 24 * HOUR };
/** `date_trunc(unit, at, 'UTC')`. */
const bucket = (at: Date, unit: 'hour' | 'day') => new Date(Math.floor(at.getTime() / UNIT_MS[unit]) * UNIT_MS[unit]);

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
  private samples: SampleRow[] = [];
  /** Audit rows written through `transaction`, in order. */
  audits: FakeAuditRows = [];
  /** Notices enqueued through `transaction`, one per event key. */
  notices: NewNotice[] = [];
  /** Rows' clock (tests may move it). */
  now = () => new Date();

  async transaction<T>(fn: (uow: DirectoryQuotaUnitOfWork) => Promise<T>): Promise<T> {
    const save = () => ({ rows: copyMap(this.rows, copy), samples: [...this.samples], notices: [...this.notices] });
    return fakeTransaction(this, save, () => fn(this.joined()));
  }

  /** The outer transaction is the caller's: writes land at once and are not rolled back here. */
  joined(): DirectoryQuotaUnitOfWork {
    const notify = async (n: NewNotice) => void (this.notices.some((x) => x.eventKey === n.eventKey) || this.notices.push(n));
    return { store: this, audit: fakeAudit(this), notify };
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
    if (!this.get(tenantId, id)) return false;
    this.samples = this.samples.filter((x) => x.quotaId !== id); // ON DELETE CASCADE
    return this.rows.delete(id);
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

  async recordSamples(input: readonly NewDirectoryQuotaSample[]): Promise<number> {
    // Judged against the samples before the batch, as one PostgreSQL statement sees them.
    const before = [...this.samples];
    let written = 0;
    for (const x of input) {
      if (this.get(x.tenantId, x.quotaId) === undefined) continue;
      const raw = before.filter((s) => s.quotaId === x.quotaId && s.resolution === 'raw');
      const last = raw.reduce<SampleRow | undefined>((a, s) => (!a || s.at > a.at ? s : a), undefined);
      const due = !last || last.bytes !== x.bytes || last.inodes !== x.inodes || last.at.getTime() < x.at.getTime() - HOUR;
      const taken = this.samples.some((s) => s.quotaId === x.quotaId && s.resolution === 'raw' && s.at.getTime() === x.at.getTime());
      if (!due || taken) continue;
      this.samples.push({ quotaId: x.quotaId, tenantId: x.tenantId, resolution: 'raw', at: new Date(x.at), bytes: x.bytes, inodes: x.inodes });
      written++;
    }
    return written;
  }

  async listSamples(tenantId: string, quotaId: string, w: { since: Date; until: Date; resolution?: Resolution }): Promise<DirectoryQuotaSample[]> {
    return this.samples
      .filter((s) => s.tenantId === tenantId && s.quotaId === quotaId && s.at >= w.since && s.at < w.until && (!w.resolution || s.resolution === w.resolution))
      .sort((a, b) => a.at.getTime() - b.at.getTime() || (a.resolution < b.resolution ? -1 : 1))
      .slice(0, 5000)
      .map((s) => ({ at: new Date(s.at), bytes: s.bytes, inodes: s.inodes, resolution: s.resolution }));
  }

  async downsampleSamples(now: Date): Promise<{ folded: number; pruned: number }> {
    const cut = downsampleCutoffs(now);
    const folded = this.fold('raw', 'hour', cut.rawBefore) + this.fold('hour', 'day', cut.hourBefore);
    const kept = this.samples.filter((s) => s.resolution !== 'day' || s.at >= cut.dayBefore);
    const pruned = this.samples.length - kept.length;
    this.samples = kept;
    return { folded, pruned };
  }

  /** The knex store's fold: maxima per quota and bucket, merged with a bucket already there; returns the buckets written. */
  private fold(from: Resolution, to: 'hour' | 'day', before: Date): number {
    const gone = this.samples.filter((s) => s.resolution === from && s.at < before);
    this.samples = this.samples.filter((s) => !gone.includes(s));
    const groups = new Map<string, SampleRow>();
    for (const s of gone) {
      const at = bucket(s.at, to);
      const k = `${s.quotaId}:${at.getTime()}`;
      const g = groups.get(k);
      groups.set(k, g ? { ...g, bytes: g.bytes > s.bytes ? g.bytes : s.bytes, inodes: g.inodes > s.inodes ? g.inodes : s.inodes } : { ...s, resolution: to, at });
    }
    for (const g of groups.values()) {
      const there = this.samples.find((s) => s.quotaId === g.quotaId && s.resolution === to && s.at.getTime() === g.at.getTime());
      if (!there) this.samples.push(g);
      else Object.assign(there, { bytes: there.bytes > g.bytes ? there.bytes : g.bytes, inodes: there.inodes > g.inodes ? there.inodes : g.inodes });
    }
    return groups.size;
  }

  async pending(limit: number): Promise<DirectoryQuota[]> {
    return [...this.rows.values()]
      .filter((r) => r.appliedGeneration < r.generation || r.state === 'deleting')
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, limit)
      .map(copy);
  }
}
