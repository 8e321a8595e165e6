/** The PostgreSQL {@link EnforcementStore} over `enforcement_states` and `enforcement_transitions`. Row mapping stays private to this file. */
import type { Db } from '../db/database.js';
import type { EnforcementState, Reason } from './policy.js';
import { ROW_VERSION, type EnforcementStore, type KnownVersions, type StateRow, type Transition, type VersionedRows } from './enforcement-store.js';

const fromRow = (r: Record<string, unknown>): StateRow => ({
  volumeId: r.volume_id as string,
  tenantId: r.tenant_id as string,
  state: r.state as EnforcementState,
  reason: r.reason as Reason,
  since: r.since as Date,
  graceDeadline: (r.grace_deadline as Date | null) ?? null,
  bytes: (r.bytes as bigint | null) ?? null,
  inodes: (r.inodes as bigint | null) ?? null,
  readAt: (r.read_at as Date | null) ?? null,
  unknownReason: (r.unknown_reason as string | null) ?? null,
  unknownSince: (r.unknown_since as Date | null) ?? null,
  manual: r.manual_reason ? { reason: r.manual_reason as string, until: (r.manual_until as Date | null) ?? null, by: r.manual_by as string, at: r.manual_at as Date } : null,
  desiredCapacity: (r.desired_capacity as bigint | null) ?? null,
  desiredInodes: (r.desired_inodes as bigint | null) ?? null,
  metadataGeneration: BigInt((r.metadata_generation as bigint | null) ?? 0n),
  evaluatedAt: (r.evaluated_at as Date | null) ?? null,
  storageDesired: Boolean(r.storage_desired),
  storageGeneration: BigInt((r.storage_generation as bigint | null) ?? 0n),
  forecastCheckedAt: (r.forecast_checked_at as Date | null) ?? null,
});

const big = (x: bigint | null) => (x === null ? null : x.toString());

/** {@link EnforcementStore} over PostgreSQL; `db` is the pool or the caller's transaction. */
export class KnexEnforcementStore implements EnforcementStore {
  constructor(private readonly db: Db) {}

  transacting(trx: Db): EnforcementStore {
    return new KnexEnforcementStore(trx);
  }

  async loadStates(volumeIds: readonly string[]): Promise<Map<string, StateRow>> {
    const out = new Map<string, StateRow>();
    for (let i = 0; i < volumeIds.length; i += 1000) {
      // One array parameter: a statement of the same text for any page size (no 1,000 placeholders).
      const rows = (await this.db('enforcement_states').whereRaw('volume_id = ANY(?::text[])', [volumeIds.slice(i, i + 1000)])) as Record<string, unknown>[];
      for (const r of rows) out.set(r.volume_id as string, fromRow(r));
    }
    return out;
  }

  /** One statement, like {@link loadStates}; the version is {@link ROW_VERSION}. */
  async loadStatesVersioned(volumeIds: readonly string[], known: KnownVersions): Promise<VersionedRows<StateRow>> {
    const r = (await this.db.raw(
      `WITH page AS (
       SELECT s.volume_id, ${ROW_VERSION('s')} AS version, k.known
         FROM enforcement_states s LEFT JOIN unnest(?::text[], ?::text[]) AS k(id, known) ON k.id = s.volume_id
        WHERE s.volume_id = ANY(?::text[])
     )
     SELECT c.unchanged, p.version AS row_version, s.*
       FROM (SELECT count(*) FILTER (WHERE version = known) AS unchanged FROM page) c
       LEFT JOIN page p ON p.version IS DISTINCT FROM p.known
       LEFT JOIN enforcement_states s ON s.volume_id = p.volume_id`,
      [known.keys, known.versions, [...volumeIds]],
    )) as { rows: Record<string, unknown>[] };
    const changed = new Map<string, { version: string; row: StateRow }>();
    for (const row of r.rows) if (row.volume_id !== null) changed.set(row.volume_id as string, { version: row.row_version as string, row: fromRow(row) });
    return { changed, unchanged: Number(r.rows[0]?.unchanged ?? 0) };
  }

  async findState(volumeId: string, opts: { forUpdate?: boolean } = {}): Promise<StateRow | undefined> {
    const q = this.db('enforcement_states').where({ volume_id: volumeId }).first();
    // NO KEY UPDATE: the row changes, its key never does, so foreign-key checks of inserts that
    // reference it (transitions, notices, requests) do not wait on it, and cannot deadlock with it.
    if (opts.forUpdate) q.forNoKeyUpdate();
    const row = (await q) as Record<string, unknown> | undefined;
    return row && fromRow(row);
  }

  async ensureState(volumeId: string, tenantId: string): Promise<void> {
    await this.db('enforcement_states').insert({ volume_id: volumeId, tenant_id: tenantId, state: 'ok', reason: 'within_limits' }).onConflict('volume_id').ignore();
  }

  async seedState(volumeId: string, tenantId: string, applied: { capacity: bigint; inodes: bigint }): Promise<void> {
    await this.db('enforcement_states')
      .insert({ volume_id: volumeId, tenant_id: tenantId, state: 'ok', reason: 'within_limits', desired_capacity: applied.capacity.toString(), desired_inodes: applied.inodes.toString() })
      .onConflict('volume_id')
      .ignore();
  }

  async saveState(s: StateRow): Promise<void> {
    await this.db('enforcement_states')
      .insert({
        volume_id: s.volumeId,
        tenant_id: s.tenantId,
        state: s.state,
        reason: s.reason,
        since: s.since,
        grace_deadline: s.graceDeadline,
        bytes: big(s.bytes),
        inodes: big(s.inodes),
        read_at: s.readAt,
        unknown_reason: s.unknownReason,
        unknown_since: s.unknownSince,
        manual_reason: s.manual?.reason ?? null,
        manual_until: s.manual?.until ?? null,
        manual_by: s.manual?.by ?? null,
        manual_at: s.manual?.at ?? null,
        desired_capacity: big(s.desiredCapacity),
        desired_inodes: big(s.desiredInodes),
        metadata_generation: s.metadataGeneration.toString(),
        evaluated_at: s.evaluatedAt,
        storage_desired: s.storageDesired,
        storage_generation: s.storageGeneration.toString(),
        updated_at: this.db.fn.now(),
      })
      .onConflict('volume_id')
      .merge();
  }

  async setStorageDesired(volumeId: string, frozen: boolean): Promise<void> {
    await this.db('enforcement_states')
      .where({ volume_id: volumeId })
      .whereNot({ storage_desired: frozen })
      .update({ storage_desired: frozen, storage_generation: this.db.raw('storage_generation + 1'), updated_at: this.db.fn.now() });
  }

  async markForecastChecked(volumes: readonly { volumeId: string; tenantId: string }[], at: Date): Promise<void> {
    await this.db.raw(
      `INSERT INTO enforcement_states (volume_id, tenant_id, state, reason, forecast_checked_at)
     SELECT v, t, 'ok', 'within_limits', ? FROM unnest(?::text[], ?::text[]) AS x(v, t)
     ON CONFLICT (volume_id) DO UPDATE SET forecast_checked_at = EXCLUDED.forecast_checked_at`,
      [at, volumes.map((v) => v.volumeId), volumes.map((v) => v.tenantId)],
    );
  }

  async countByState(): Promise<Record<string, number>> {
    const rows = (await this.db('enforcement_states').select('state').count<{ state: string; count: string }[]>('* as count').groupBy('state')) as { state: string; count: string | bigint }[];
    const unknown = (await this.db('enforcement_states').whereNotNull('unknown_reason').count<{ count: string }[]>('* as count')) as { count: string | bigint }[];
    return { ...Object.fromEntries(rows.map((r) => [r.state, Number(r.count)])), unknown: Number(unknown[0]?.count ?? 0) };
  }

  async insertTransition(volumeId: string, tenantId: string, t: Omit<Transition, 'id' | 'at'>): Promise<void> {
    await this.db('enforcement_transitions').insert({
      volume_id: volumeId,
      tenant_id: tenantId,
      from_state: t.from,
      to_state: t.to,
      reason: t.reason,
      bytes: big(t.bytes),
      inodes: big(t.inodes),
      limits: JSON.stringify(t.limits),
      actor: t.actor,
      detail: t.detail,
    });
  }

  async listTransitions(volumeId: string, limit: number): Promise<Transition[]> {
    const rows = (await this.db('enforcement_transitions').where({ volume_id: volumeId }).orderBy('id', 'desc').limit(limit)) as Record<string, unknown>[];
    return rows.map((r) => ({
      id: String(r.id),
      at: r.at as Date,
      from: r.from_state as string,
      to: r.to_state as string,
      reason: r.reason as string,
      bytes: (r.bytes as bigint | null) ?? null,
      inodes: (r.inodes as bigint | null) ?? null,
      limits: r.limits as Record<string, unknown>,
      actor: r.actor as string,
      detail: (r.detail as string | null) ?? null,
    }));
  }
}
