/**
 * The fleet: every volume with what an admin sorts and filters by (enforcement state, usage and
 * percent of the hard limit, growth, last walk, engine), for `GET /v1/fleet` and the dashboard's
 * fleet table. A read model, not a store: it joins the volumes, readings, enforcement states,
 * samples and walks tables and writes nothing. Paged by offset, because its sort keys (percent,
 * growth) change between pages anyway and a fleet of 10,000 volumes sorts in one query.
 */
import type { Knex } from 'knex';
import type { Db } from '../db/database.js';

/** What the fleet can be sorted by. */
export const fleetSorts = ['name', 'tenant', 'state', 'usedBytes', 'percent', 'growth', 'lastWalk'] as const;
export type FleetSort = (typeof fleetSorts)[number];

/** Enforcement state as the fleet shows it: `unknown` when the data cannot be trusted or was never read. */
export type FleetState = 'ok' | 'over_soft' | 'frozen' | 'unknown';

/** One row of the fleet. */
export interface FleetRow {
  id: string;
  tenantId: string;
  name: string;
  engine: string;
  state: FleetState;
  usedBytes: bigint | null;
  hardBytes: bigint | null;
  percentOfHard: number | null;
  /** Bytes per day over the last 7 days (from the oldest sample in that window to the latest reading). */
  growthPerDay: number | null;
  graceDeadline: Date | null;
  readAt: Date | null;
  lastWalkAt: Date | null;
}

/** Filters and order; `tenantIds` undefined = all tenants. */
export interface FleetQuery {
  tenantIds?: readonly string[];
  state?: FleetState;
  engine?: string;
  minPercent?: number;
  sort: FleetSort;
  order: 'asc' | 'desc';
  limit: number;
  offset: number;
}

const STATE = `CASE WHEN e.volume_id IS NULL OR e.unknown_reason IS NOT NULL THEN 'unknown' ELSE e.state END`;
const PERCENT = `(r.bytes::float8 * 100 / NULLIF(v.hard_bytes, 0))`;
// Oldest sample of the last 7 days to the latest reading, per day; null without two points a minute apart.
const GROWTH = `CASE WHEN g.at IS NOT NULL AND r.read_at > g.at + interval '1 minute'
  THEN (r.bytes - g.bytes)::float8 * 86400 / extract(epoch FROM (r.read_at - g.at)) END`;
const ORDER: Record<FleetSort, string> = {
  name: 'v.name',
  tenant: 'v.tenant_id',
  state: STATE,
  usedBytes: 'r.bytes',
  percent: PERCENT,
  growth: GROWTH,
  lastWalk: 'w.finished_at',
};

interface Row {
  id: string;
  tenant_id: string;
  name: string;
  engine: string;
  fleet_state: FleetState;
  used_bytes: bigint | null;
  hard_bytes: bigint | null;
  percent: number | null;
  growth: number | null;
  grace_deadline: Date | null;
  read_at: Date | null;
  last_walk_at: Date | null;
  total: bigint;
}

/** A page of the fleet (live volumes: deleted and purged ones are left out) and the total that match. */
export async function listFleet(db: Db, q: FleetQuery): Promise<{ items: FleetRow[]; total: number }> {
  const where: string[] = [`v.state IN ('provisioning', 'active', 'failed')`];
  const args: Knex.RawBinding[] = [];
  if (q.tenantIds) {
    if (q.tenantIds.length === 0) return { items: [], total: 0 };
    where.push(`v.tenant_id = ANY(?)`);
    args.push([...q.tenantIds]);
  }
  const filter = (sql: string, value: Knex.RawBinding) => {
    where.push(sql);
    args.push(value);
  };
  if (q.state) filter(`${STATE} = ?`, q.state);
  if (q.engine) filter(`v.engine = ?`, q.engine);
  if (q.minPercent !== undefined) filter(`${PERCENT} >= ?`, q.minPercent);
  const dir = q.order === 'desc' ? 'DESC' : 'ASC';
  const { rows } = (await db.raw(
    `SELECT v.id, v.tenant_id, v.name, v.engine, ${STATE} AS fleet_state, r.bytes AS used_bytes, v.hard_bytes,
            ${PERCENT} AS percent, ${GROWTH} AS growth, e.grace_deadline, r.read_at, w.finished_at AS last_walk_at,
            count(*) OVER () AS total
       FROM volumes v
       -- The view: a reading's age includes the counters pass's sweeps (migration 20261201000600).
       LEFT JOIN usage_readings_current r ON r.volume_id = v.id
       LEFT JOIN enforcement_states e ON e.volume_id = v.id
       LEFT JOIN LATERAL (SELECT s.at, s.bytes FROM usage_samples s
                           WHERE s.volume_id = v.id AND s.at >= now() - interval '7 days'
                           ORDER BY s.at LIMIT 1) g ON true
       LEFT JOIN LATERAL (SELECT sc.finished_at FROM walks sc
                           WHERE sc.volume_id = v.id AND sc.state = 'succeeded'
                           ORDER BY sc.created_at DESC LIMIT 1) w ON true
      WHERE ${where.join(' AND ')}
      ORDER BY ${ORDER[q.sort]} ${dir} NULLS LAST, v.id ${dir}
      LIMIT ? OFFSET ?`,
    [...args, q.limit, q.offset],
  )) as { rows: Row[] };
  return { items: rows.map(fromRow), total: rows.length ? Number(rows[0]!.total) : await countOnly(db, where, args) };
}

/** The total when the page is past the end (the window count then has no row to ride on). */
async function countOnly(db: Db, where: string[], args: Knex.RawBinding[]): Promise<number> {
  const { rows } = (await db.raw(
    `SELECT count(*) AS n FROM volumes v
       LEFT JOIN usage_readings r ON r.volume_id = v.id
       LEFT JOIN enforcement_states e ON e.volume_id = v.id
      WHERE ${where.join(' AND ')}`,
    args,
  )) as { rows: { n: bigint }[] };
  return Number(rows[0]!.n);
}

function fromRow(r: Row): FleetRow {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    name: r.name,
    engine: r.engine,
    state: r.fleet_state,
    usedBytes: r.used_bytes,
    hardBytes: r.hard_bytes,
    percentOfHard: r.percent === null ? null : Math.round(r.percent * 10) / 10,
    growthPerDay: r.growth === null ? null : Math.round(r.growth),
    graceDeadline: r.grace_deadline,
    readAt: r.read_at,
    lastWalkAt: r.last_walk_at,
  };
}
