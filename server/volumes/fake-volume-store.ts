/**
 * The in-memory {@link VolumeStore} of unit tests. `transaction` snapshots the rows, ledgers and
 * audit rows and puts them back when `fn` throws, so "a refused change writes nothing" holds here
 * as it does in PostgreSQL. A second live volume of a name throws an error shaped like
 * PostgreSQL's unique violation (code 23505, constraint `volumes_tenant_name_live`), which is what
 * the service recognises. Ids sort by code point (ours are ULIDs, the same under any collation).
 * Passes test/contract/volume-store.contract.ts.
 */
import type { Db } from '../db/database.js';
import { copyMap, FAKE_TRX, fakeAudit, fakeTransaction, type FakeAuditRows } from '../lib/in-memory-transactions.js';
import type { Quota, Volume, VolumeState } from './volume.js';
import type { NewVolume, VolumeFilter, VolumeStore, VolumeUnitOfWork } from './volume-store.js';

const copy = (v: Volume): Volume => ({ ...v, quota: { ...v.quota }, storage: { ...v.storage } });

/** {@link VolumeStore} in memory. */
export class FakeVolumeStore implements VolumeStore {
  private rows = new Map<string, Volume>();
  /** Claimed prefixes: the volume each went to, and whether it is retired. */
  private prefixes = new Map<string, { volumeId: string; retired: boolean }>();
  /** Given Redis databases, keyed `server/db`. */
  private redisDbs = new Map<string, string>();
  /** Audit rows written through a unit of work, in order. */
  audits: FakeAuditRows = [];
  /** Rows' clock (tests may move it). */
  now = () => new Date();

  async transaction<T>(fn: (uow: VolumeUnitOfWork) => Promise<T>): Promise<T> {
    const save = () => ({ rows: copyMap(this.rows, copy), prefixes: copyMap(this.prefixes, (v) => ({ ...v })), redisDbs: new Map(this.redisDbs) });
    return fakeTransaction(this, save, () => fn(this.joined(FAKE_TRX)));
  }

  /** The outer transaction is the caller's: writes land at once and are not rolled back here. */
  joined(trx: Db = FAKE_TRX): VolumeUnitOfWork {
    return { trx, store: this, audit: fakeAudit(this) };
  }

  async insert(v: NewVolume): Promise<Volume> {
    if ([...this.rows.values()].some((r) => r.tenantId === v.tenantId && r.name === v.name && live(r.state))) {
      throw Object.assign(new Error('duplicate key value violates unique constraint "volumes_tenant_name_live"'), { code: '23505', constraint: 'volumes_tenant_name_live' });
    }
    const at = this.now();
    const row: Volume = {
      id: v.id,
      tenantId: v.tenantId,
      name: v.name,
      prefix: v.prefix,
      engine: v.engine,
      metaUrl: v.metaUrl,
      state: 'provisioning',
      stateDetail: null,
      quota: { ...v.quota },
      storage: v.storage ? { ...v.storage } : { kind: 'file', bucket: null },
      requestHash: v.requestHash,
      createdAt: at,
      updatedAt: at,
    };
    this.rows.set(v.id, row);
    return copy(row);
  }

  async findLiveByName(tenantId: string, name: string): Promise<Volume | undefined> {
    const r = [...this.rows.values()].find((x) => x.tenantId === tenantId && x.name === name && live(x.state));
    return r && copy(r);
  }

  async find(volumeId: string): Promise<Volume | undefined> {
    const r = this.rows.get(volumeId);
    return r && copy(r);
  }

  async list(f: VolumeFilter): Promise<Volume[]> {
    return [...this.rows.values()]
      .filter((r) => (!f.tenantIds || f.tenantIds.includes(r.tenantId)) && (!f.state || r.state === f.state) && (!f.afterId || r.id > f.afterId))
      .sort((a, b) => (a.id < b.id ? -1 : 1))
      .slice(0, f.limit)
      .map(copy);
  }

  async liveBuckets(tenantId: string): Promise<string[]> {
    const live = [...this.rows.values()].filter((r) => r.tenantId === tenantId && (r.state === 'provisioning' || r.state === 'active') && r.storage.bucket !== null);
    return live.map((r) => r.storage.bucket!).sort();
  }

  async setState(volumeId: string, state: VolumeState, detail: string | null = null): Promise<Volume> {
    return this.change(volumeId, (r) => Object.assign(r, { state, stateDetail: detail }));
  }

  async updateQuota(volumeId: string, q: Omit<Quota, 'graceSeconds'>): Promise<Volume> {
    return this.change(volumeId, (r) => Object.assign(r.quota, { softBytes: q.softBytes, hardBytes: q.hardBytes, softInodes: q.softInodes, hardInodes: q.hardInodes }));
  }

  async claimPrefix(prefix: string, volumeId: string): Promise<boolean> {
    if (this.prefixes.has(prefix)) return false;
    this.prefixes.set(prefix, { volumeId, retired: false });
    return true;
  }

  async retirePrefix(prefix: string): Promise<void> {
    const p = this.prefixes.get(prefix);
    if (p) p.retired = true;
  }

  /** Whether a prefix was claimed and is retired (for tests; the table has no reader of it). */
  prefixState(prefix: string): 'free' | 'claimed' | 'retired' {
    const p = this.prefixes.get(prefix);
    return !p ? 'free' : p.retired ? 'retired' : 'claimed';
  }

  async claimFreeRedisDb(server: string, pool: readonly number[], volumeId: string): Promise<number | undefined> {
    const n = [...pool].sort((a, b) => a - b).find((x) => !this.redisDbs.has(`${server}/${x}`));
    if (n !== undefined) this.redisDbs.set(`${server}/${n}`, volumeId);
    return n;
  }

  async countRedisDbs(server: string, pool: readonly number[]): Promise<number> {
    return new Set(pool).size - new Set(pool.filter((x) => !this.redisDbs.has(`${server}/${x}`))).size;
  }

  async claimRedisDb(server: string, dbNumber: number, volumeId: string): Promise<boolean> {
    if (this.redisDbs.has(`${server}/${dbNumber}`)) return false;
    this.redisDbs.set(`${server}/${dbNumber}`, volumeId);
    return true;
  }

  private change(volumeId: string, f: (r: Volume) => void): Volume {
    const r = this.rows.get(volumeId);
    if (!r) throw new Error(`no volume ${volumeId}`);
    f(r);
    r.updatedAt = this.now();
    return copy(r);
  }
}

const live = (s: VolumeState) => s !== 'deleting' && s !== 'purged';
