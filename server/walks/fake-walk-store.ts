/**
 * The in-memory {@link WalkStore} of unit tests. `transaction` snapshots the walks, directories
 * and audit rows and puts them back when `fn` throws, as PostgreSQL's rollback would. The one
 * active walk per volume of the partial unique index `walks_one_active` is kept by `insert`, a
 * directory stored twice for a walk throws as the primary key would, and `result` goes through
 * JSON as JSONB does. Paths of tied directories sort by code point (PostgreSQL sorts by the
 * database's collation: the same for the plain names the contract uses). Passes
 * test/contract/walk-store.contract.ts.
 */
import type { Knex } from 'knex';
import type { Db } from '../db/database.js';
import { copyMap, FAKE_TRX, fakeAudit, fakeTransaction, type FakeAuditRows } from '../lib/in-memory-transactions.js';
import type { DirectoryUsage } from '../meta/volume-metadata.js';
import type { DirectoryQuery, LatestWalk, NewWalk, Walk, WalkPatch, WalkStore, WalkUnitOfWork } from './walk-store.js';

const copy = (w: Walk): Walk => ({ ...w, result: w.result && structuredClone(w.result) });
const active = (w: Walk) => w.state === 'queued' || w.state === 'running';
/** Only the stored columns: a walk's profile of its files is not kept. */
const columns = (d: DirectoryUsage): DirectoryUsage => ({
  inode: d.inode,
  pathBase64: d.pathBase64,
  path: d.path,
  depth: d.depth,
  inTrash: d.inTrash,
  bytes: d.bytes,
  logicalBytes: d.logicalBytes,
  inodes: d.inodes,
  files: d.files,
  dirs: d.dirs,
  directBytes: d.directBytes,
  directInodes: d.directInodes,
});
const desc = (a: bigint, b: bigint) => (a < b ? 1 : a > b ? -1 : 0);

/** {@link WalkStore} in memory. */
export class FakeWalkStore implements WalkStore {
  /** Walks in insertion order. */
  private rows = new Map<string, Walk>();
  /** Each walk's directories, keyed by inode. */
  private directories = new Map<string, Map<bigint, DirectoryUsage>>();
  /** Audit rows written through a unit of work, in order. */
  audits: FakeAuditRows = [];
  /** Rows' clock (tests may move it). */
  now = () => new Date();

  async transaction<T>(fn: (uow: WalkUnitOfWork<Knex.Transaction>) => Promise<T>): Promise<T> {
    const save = () => ({ rows: copyMap(this.rows, copy), directories: copyMap(this.directories, (m) => new Map(m)) });
    // Listeners in unit tests get the fake handle; they never query it.
    return fakeTransaction(this, save, () => fn({ ...this.joined(), trx: FAKE_TRX as Knex.Transaction }));
  }

  /** The outer transaction is the caller's: writes land at once and are not rolled back here. */
  joined(trx: Db = FAKE_TRX): WalkUnitOfWork {
    return { trx, store: this, audit: fakeAudit(this) };
  }

  async insert(w: NewWalk): Promise<Walk | undefined> {
    if ([...this.rows.values()].some((r) => r.volumeId === w.volumeId && active(r))) return undefined;
    const row: Walk = {
      id: w.id,
      volumeId: w.volumeId,
      tenantId: w.tenantId,
      state: 'queued',
      requestedBy: w.requestedBy,
      keysRead: 0,
      result: null,
      error: null,
      createdAt: this.now(),
      startedAt: null,
      finishedAt: null,
    };
    this.rows.set(w.id, row);
    return copy(row);
  }

  async findActive(tenantId: string, volumeId: string): Promise<Walk | undefined> {
    return this.first((r) => r.tenantId === tenantId && r.volumeId === volumeId && active(r));
  }

  async find(tenantId: string, volumeId: string, walkId: string): Promise<Walk | undefined> {
    const r = this.rows.get(walkId);
    return r && r.tenantId === tenantId && r.volumeId === volumeId ? copy(r) : undefined;
  }

  async latestSucceeded(tenantId: string, volumeId: string): Promise<Walk | undefined> {
    return this.newestSucceeded((r) => r.tenantId === tenantId && r.volumeId === volumeId);
  }

  async update(walkId: string, patch: WalkPatch): Promise<void> {
    const r = this.rows.get(walkId);
    if (!r) return;
    if (patch.state) r.state = patch.state;
    if (patch.keysRead !== undefined) r.keysRead = patch.keysRead;
    if (patch.result) r.result = JSON.parse(JSON.stringify(patch.result)) as Record<string, unknown>;
    if (patch.error !== undefined) r.error = patch.error;
    if (patch.started) r.startedAt = this.now();
    if (patch.finished) r.finishedAt = this.now();
  }

  async failActive(error: string): Promise<number> {
    const marked = [...this.rows.values()].filter(active);
    for (const r of marked) Object.assign(r, { state: 'failed', error, finishedAt: this.now() });
    return marked.length;
  }

  async insertDirectories(walkId: string, dirs: readonly DirectoryUsage[]): Promise<void> {
    const stored = this.directories.get(walkId) ?? new Map<bigint, DirectoryUsage>();
    const fresh = new Map(stored);
    for (const d of dirs) {
      if (fresh.has(d.inode)) throw Object.assign(new Error('duplicate key value violates unique constraint "directory_usage_pkey"'), { code: '23505', constraint: 'directory_usage_pkey' });
      fresh.set(d.inode, columns(d));
    }
    this.directories.set(walkId, fresh);
  }

  async topDirectories(walkId: string, q: DirectoryQuery): Promise<DirectoryUsage[]> {
    const key = q.sort;
    return [...(this.directories.get(walkId)?.values() ?? [])]
      .filter((d) => !d.inTrash && d.depth <= q.maxDepth)
      .sort((a, b) => desc(a[key], b[key]) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
      .slice(0, q.limit)
      .map((d) => ({ ...d }));
  }

  async latest(volumeIds: readonly string[]): Promise<Map<string, LatestWalk>> {
    const out = new Map<string, LatestWalk>();
    for (const volumeId of new Set(volumeIds)) {
      const w = this.newestSucceeded((r) => r.volumeId === volumeId);
      if (w) out.set(volumeId, { walkId: w.id, finishedAt: w.finishedAt!, result: w.result ?? {} });
    }
    return out;
  }

  private first(match: (r: Walk) => boolean): Walk | undefined {
    const r = [...this.rows.values()].find(match);
    return r && copy(r);
  }

  private newestSucceeded(match: (r: Walk) => boolean): Walk | undefined {
    const done = [...this.rows.values()].filter((r) => r.state === 'succeeded' && match(r));
    const newest = done.reduce<Walk | undefined>((best, r) => (!best || (r.finishedAt?.getTime() ?? 0) > (best.finishedAt?.getTime() ?? 0) ? r : best), undefined);
    return newest && copy(newest);
  }
}
