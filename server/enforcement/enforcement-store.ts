/** PostgreSQL store for enforcement states and their transitions. */
import type { Db } from '../db/database.js';
import type { EnforcementState, Reason } from './policy.js';

/** What Headroom remembers about one volume's enforcement. */
export interface StateRow {
  volumeId: string;
  tenantId: string;
  state: EnforcementState;
  reason: Reason;
  since: Date;
  graceDeadline: Date | null;
  bytes: bigint | null;
  inodes: bigint | null;
  readAt: Date | null;
  unknownReason: string | null;
  unknownSince: Date | null;
  manual: { reason: string; until: Date | null; by: string; at: Date } | null;
  /**
   * What the volume's JuiceFS setting should say (Capacity/Inodes, 0 = unlimited): the desired
   * state of the metadata layer, carried out by the applier after the decision commits.
   */
  desiredCapacity: bigint | null;
  desiredInodes: bigint | null;
  /** Grows by one each time the desired Capacity/Inodes change (the applier never goes back). */
  metadataGeneration: bigint;
  evaluatedAt: Date | null;
  /** Whether Headroom's read-only rule for the volume's objects should be in SeaweedFS. */
  storageDesired: boolean;
  /** Grows by one each time {@link storageDesired} changes. */
  storageGeneration: bigint;
  /** Written only by {@link markForecastChecked}; {@link saveState} leaves it alone. */
  forecastCheckedAt: Date | null;
}

/** The state of a volume Headroom has never evaluated. */
export function initialState(volumeId: string, tenantId: string, since: Date): StateRow {
  return {
    volumeId,
    tenantId,
    state: 'ok',
    reason: 'within_limits',
    since,
    graceDeadline: null,
    bytes: null,
    inodes: null,
    readAt: null,
    unknownReason: null,
    unknownSince: null,
    manual: null,
    desiredCapacity: null,
    desiredInodes: null,
    metadataGeneration: 0n,
    evaluatedAt: null,
    storageDesired: false,
    storageGeneration: 0n,
    forecastCheckedAt: null,
  };
}

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

/** Records that the forecasts of these volumes were checked at `at`. */
export async function markForecastChecked(db: Db, volumes: { volumeId: string; tenantId: string }[], at: Date): Promise<void> {
  if (!volumes.length) return;
  await db.raw(
    `INSERT INTO enforcement_states (volume_id, tenant_id, state, reason, forecast_checked_at)
     SELECT v, t, 'ok', 'within_limits', ? FROM unnest(?::text[], ?::text[]) AS x(v, t)
     ON CONFLICT (volume_id) DO UPDATE SET forecast_checked_at = EXCLUDED.forecast_checked_at`,
    [at, volumes.map((v) => v.volumeId), volumes.map((v) => v.tenantId)],
  );
}

const big = (x: bigint | null) => (x === null ? null : x.toString());

/** The states of many volumes, by volume id (absent = never evaluated). */
export async function loadStates(db: Db, volumeIds: readonly string[]): Promise<Map<string, StateRow>> {
  const out = new Map<string, StateRow>();
  for (let i = 0; i < volumeIds.length; i += 1000) {
    // One array parameter: a statement of the same text for any page size (no 1,000 placeholders).
    const rows = (await db('enforcement_states').whereRaw('volume_id = ANY(?::text[])', [volumeIds.slice(i, i + 1000)])) as Record<string, unknown>[];
    for (const r of rows) out.set(r.volume_id as string, fromRow(r));
  }
  return out;
}

/**
 * The version of a row as a versioned load reports it: the transaction that wrote it and a hash of
 * its whole text. Any write gives a row a new `xmin`; the hash is there so that even a reused
 * transaction id (wraparound, a restored database) cannot pass an edited row off as unchanged.
 */
export const ROW_VERSION = (alias: string) => `${alias}.xmin::text || '/' || hashtextextended(${alias}::text, 0)::text`;

/** The rows a caller holds, by key, and the version of each (same order). */
export interface KnownVersions {
  keys: string[];
  versions: string[];
}

/**
 * A versioned load's answer: the rows whose version differs from the one the caller holds (or
 * that it holds none of), and how many of the rows it holds are still there at that version.
 */
export interface VersionedRows<T> {
  changed: Map<string, { version: string; row: T }>;
  unchanged: number;
}

/**
 * The states of a page of volumes, read against the versions the caller holds (`known`, by volume
 * id): only the rows whose version differs come back. One statement, like {@link loadStates}, so
 * a caller that keeps rows between passes is exactly as fresh as one that reads them all.
 */
export async function loadStatesVersioned(db: Db, volumeIds: readonly string[], known: KnownVersions): Promise<VersionedRows<StateRow>> {
  const r = (await db.raw(
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

/** One volume's state, locked for update when asked (serialises the scheduler and admins). */
export async function findState(db: Db, volumeId: string, opts: { forUpdate?: boolean } = {}): Promise<StateRow | undefined> {
  const q = db('enforcement_states').where({ volume_id: volumeId }).first();
  // NO KEY UPDATE: the row changes, its key never does, so foreign-key checks of inserts that
  // reference it (transitions, notices, requests) do not wait on it, and cannot deadlock with it.
  if (opts.forUpdate) q.forNoKeyUpdate();
  const row = (await q) as Record<string, unknown> | undefined;
  return row && fromRow(row);
}

/**
 * Creates the state row if missing, so the next {@link findState} with `forUpdate` has a row
 * to lock (two first-time writers then serialise on it instead of racing an insert).
 */
export async function ensureState(db: Db, volumeId: string, tenantId: string): Promise<void> {
  await db('enforcement_states').insert({ volume_id: volumeId, tenant_id: tenantId, state: 'ok', reason: 'within_limits' }).onConflict('volume_id').ignore();
}

/**
 * The first state of a volume, written when it becomes active: `ok`, desiring the JuiceFS limits
 * the setting holds (what onboarding formatted, or what an adopted volume already had) at
 * generation 0, which counts as applied: the first pass does not rewrite every setting, and the
 * first verification reads what is really there.
 */
export async function seedState(db: Db, volumeId: string, tenantId: string, applied: { capacity: bigint; inodes: bigint }): Promise<void> {
  await db('enforcement_states')
    .insert({ volume_id: volumeId, tenant_id: tenantId, state: 'ok', reason: 'within_limits', desired_capacity: applied.capacity.toString(), desired_inodes: applied.inodes.toString() })
    .onConflict('volume_id')
    .ignore();
}

/**
 * Carries `prev`'s generations into `next`, one higher for each layer whose desired value
 * changed: the caller holds `prev` locked, so generations of one volume never collide.
 */
export function withGenerations(prev: StateRow, next: StateRow): StateRow {
  const metaChanged = prev.desiredCapacity !== next.desiredCapacity || prev.desiredInodes !== next.desiredInodes;
  const storageChanged = prev.storageDesired !== next.storageDesired;
  return {
    ...next,
    metadataGeneration: prev.metadataGeneration + (metaChanged ? 1n : 0n),
    storageGeneration: prev.storageGeneration + (storageChanged ? 1n : 0n),
  };
}

/** Sets the volume's desired storage rule (purge: never frozen again); bumps its generation. */
export async function setStorageDesired(db: Db, volumeId: string, frozen: boolean): Promise<void> {
  await db('enforcement_states')
    .where({ volume_id: volumeId })
    .whereNot({ storage_desired: frozen })
    .update({ storage_desired: frozen, storage_generation: db.raw('storage_generation + 1'), updated_at: db.fn.now() });
}

/** Writes the whole state row. */
export async function saveState(db: Db, s: StateRow): Promise<void> {
  await db('enforcement_states')
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
      updated_at: db.fn.now(),
    })
    .onConflict('volume_id')
    .merge();
}

/** One recorded transition. */
export interface Transition {
  id: string;
  at: Date;
  from: string;
  to: string;
  reason: string;
  bytes: bigint | null;
  inodes: bigint | null;
  limits: Record<string, unknown>;
  actor: string;
  detail: string | null;
}

/** Appends a transition. */
export async function insertTransition(db: Db, volumeId: string, tenantId: string, t: Omit<Transition, 'id' | 'at'>): Promise<void> {
  await db('enforcement_transitions').insert({
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

/** The latest transitions of a volume, newest first. */
export async function listTransitions(db: Db, volumeId: string, limit: number): Promise<Transition[]> {
  const rows = (await db('enforcement_transitions').where({ volume_id: volumeId }).orderBy('id', 'desc').limit(limit)) as Record<string, unknown>[];
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

/** Volumes per state (for metrics). */
export async function countByState(db: Db): Promise<Record<string, number>> {
  const rows = (await db('enforcement_states').select('state').count<{ state: string; count: string }[]>('* as count').groupBy('state')) as { state: string; count: string | bigint }[];
  const unknown = (await db('enforcement_states').whereNotNull('unknown_reason').count<{ count: string }[]>('* as count')) as { count: string | bigint }[];
  return { ...Object.fromEntries(rows.map((r) => [r.state, Number(r.count)])), unknown: Number(unknown[0]?.count ?? 0) };
}
