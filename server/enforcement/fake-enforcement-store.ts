/**
 * The in-memory {@link EnforcementStore} of unit tests. Rows are copied in and out, so a caller
 * holding a state cannot change the store's by accident; each write gives a row a new version
 * (PostgreSQL: the writing transaction and a hash of the row), which is what a versioned load
 * compares. Locks are not modelled: unit tests run one decision at a time. Passes
 * test/contract/enforcement-store.contract.ts.
 */
import type { Db } from '../db/database.js';
import { initialState, type EnforcementStore, type KnownVersions, type StateRow, type Transition, type VersionedRows } from './enforcement-store.js';

const copy = (s: StateRow): StateRow => ({ ...s, manual: s.manual && { ...s.manual } });

/** {@link EnforcementStore} in memory. */
export class FakeEnforcementStore implements EnforcementStore {
  private readonly states = new Map<string, { row: StateRow; version: string }>();
  private readonly transitions: Array<Transition & { volumeId: string; tenantId: string }> = [];
  private writes = 0;
  /** The store's clock, stamped where PostgreSQL would use `now()` (tests may move it). */
  now = () => new Date();

  /** Writes land at once: the caller's transaction is not modelled. */
  transacting(_trx: Db): EnforcementStore {
    return this;
  }

  private put(row: StateRow): void {
    this.states.set(row.volumeId, { row: copy(row), version: `v${++this.writes}` });
  }

  async loadStates(volumeIds: readonly string[]): Promise<Map<string, StateRow>> {
    const out = new Map<string, StateRow>();
    for (const id of volumeIds) {
      const s = this.states.get(id);
      if (s) out.set(id, copy(s.row));
    }
    return out;
  }

  async loadStatesVersioned(volumeIds: readonly string[], known: KnownVersions): Promise<VersionedRows<StateRow>> {
    const held = new Map(known.keys.map((k, i) => [k, known.versions[i]]));
    const changed = new Map<string, { version: string; row: StateRow }>();
    let unchanged = 0;
    for (const id of new Set(volumeIds)) {
      const s = this.states.get(id);
      if (!s) continue;
      if (held.get(id) === s.version) unchanged++;
      else changed.set(id, { version: s.version, row: copy(s.row) });
    }
    return { changed, unchanged };
  }

  async findState(volumeId: string): Promise<StateRow | undefined> {
    const s = this.states.get(volumeId);
    return s && copy(s.row);
  }

  async ensureState(volumeId: string, tenantId: string): Promise<void> {
    if (!this.states.has(volumeId)) this.put(initialState(volumeId, tenantId, this.now()));
  }

  async seedState(volumeId: string, tenantId: string, applied: { capacity: bigint; inodes: bigint }): Promise<void> {
    if (!this.states.has(volumeId)) this.put({ ...initialState(volumeId, tenantId, this.now()), desiredCapacity: applied.capacity, desiredInodes: applied.inodes });
  }

  async saveState(s: StateRow): Promise<void> {
    // The forecast check is written only by markForecastChecked.
    const forecastCheckedAt = this.states.get(s.volumeId)?.row.forecastCheckedAt ?? null;
    this.put({ ...s, forecastCheckedAt });
  }

  async setStorageDesired(volumeId: string, frozen: boolean): Promise<void> {
    const s = this.states.get(volumeId);
    if (!s || s.row.storageDesired === frozen) return;
    this.put({ ...s.row, storageDesired: frozen, storageGeneration: s.row.storageGeneration + 1n });
  }

  async markForecastChecked(volumes: readonly { volumeId: string; tenantId: string }[], at: Date): Promise<void> {
    for (const v of volumes) {
      const row = this.states.get(v.volumeId)?.row ?? initialState(v.volumeId, v.tenantId, this.now());
      this.put({ ...row, forecastCheckedAt: at });
    }
  }

  async countByState(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    let unknown = 0;
    for (const { row } of this.states.values()) {
      out[row.state] = (out[row.state] ?? 0) + 1;
      if (row.unknownReason !== null) unknown++;
    }
    return { ...out, unknown };
  }

  async insertTransition(volumeId: string, tenantId: string, t: Omit<Transition, 'id' | 'at'>): Promise<void> {
    // Limits go through JSON, as the jsonb column does.
    this.transitions.push({ ...t, limits: JSON.parse(JSON.stringify(t.limits)) as Record<string, unknown>, id: String(this.transitions.length + 1), at: this.now(), volumeId, tenantId });
  }

  async listTransitions(volumeId: string, limit: number): Promise<Transition[]> {
    return this.transitions
      .filter((t) => t.volumeId === volumeId)
      .reverse()
      .slice(0, limit)
      .map(({ volumeId: _v, tenantId: _t, ...t }) => ({ ...t }));
  }
}
