/** PostgreSQL store for auto-approval rules. */
import type { Db } from '../db/database.js';
import type { Rule } from './auto-approval.js';

/** A rule as stored, with what the API shows around it. */
export interface StoredRule {
  id: string;
  tier: string;
  kind: Rule['kind'];
  params: Record<string, unknown>;
  position: number;
  enabled: boolean;
  description: string | null;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

const fromRow = (r: Record<string, unknown>): StoredRule => ({
  id: r.id as string,
  tier: r.tier as string,
  kind: r.kind as Rule['kind'],
  params: r.params as Record<string, unknown>,
  position: r.position as number,
  enabled: r.enabled as boolean,
  description: (r.description as string | null) ?? null,
  createdBy: r.created_by as string,
  createdAt: r.created_at as Date,
  updatedAt: r.updated_at as Date,
});

/** Rules, optionally of one tier, in evaluation order. */
export async function listRules(db: Db, tier?: string): Promise<StoredRule[]> {
  const q = db('quota_rules').orderBy([{ column: 'tier' }, { column: 'position' }, { column: 'id' }]);
  if (tier) q.where({ tier });
  return ((await q) as Record<string, unknown>[]).map(fromRow);
}

/** One rule. */
export async function findRule(db: Db, id: string): Promise<StoredRule | undefined> {
  const r = (await db('quota_rules').where({ id }).first()) as Record<string, unknown> | undefined;
  return r && fromRow(r);
}

/** Inserts or replaces a rule. */
export async function saveRule(db: Db, r: Omit<StoredRule, 'createdAt' | 'updatedAt'>): Promise<StoredRule> {
  const rows = (await db('quota_rules')
    .insert({ id: r.id, tier: r.tier, kind: r.kind, params: JSON.stringify(r.params), position: r.position, enabled: r.enabled, description: r.description, created_by: r.createdBy })
    .onConflict('id')
    .merge(['tier', 'kind', 'params', 'position', 'enabled', 'description'])
    .returning('*')) as Record<string, unknown>[];
  await db('quota_rules').where({ id: r.id }).update({ updated_at: db.fn.now() });
  return fromRow(rows[0]!);
}

/** Deletes a rule; true if it existed. */
export async function deleteRule(db: Db, id: string): Promise<boolean> {
  return (await db('quota_rules').where({ id }).delete()) > 0;
}

/** The policy's view of a stored rule (numbers as the pure function wants them). */
export function toPolicyRule(r: StoredRule): Rule {
  const p = r.params;
  const big = (x: unknown) => (x === null || x === undefined ? null : BigInt(x as number | string));
  switch (r.kind) {
    case 'percent_increase':
      return { id: r.id, kind: r.kind, maxPercent: Number(p.maxPercent), cooldownDays: Number(p.cooldownDays ?? 0) };
    case 'temporary_grant':
      return { id: r.id, kind: r.kind, maxFactor: Number(p.maxFactor), maxDays: Number(p.maxDays) };
    case 'tier_ceiling':
      return { id: r.id, kind: r.kind, maxHardBytes: big(p.maxHardBytes), maxHardInodes: big(p.maxHardInodes) };
  }
}
