/**
 * What a committed enforcement decision writes besides the state row: the transition row, its
 * audit row, its notice and the transitions metric; the first "unknown" of a volume (audit row
 * and the admins' notice); and, after commit, carrying the desired state out. Shared by the
 * per-volume path of the passes and the admin commands.
 */
import client from 'prom-client';
import { recordAudit, type Actor } from '../audit/audit-log.js';
import type { Db } from '../db/database.js';
import type { Outbox } from '../notifications/outbox.js';
import type { Volume } from '../volumes/volume.js';
import type { Applier } from './applier.js';
import type { EnforcementNotices } from './enforcement-notices.js';
import type { PassCounts } from './enforcement-pass.js';
import type { EnforcementStore, StateRow } from './enforcement-store.js';
import { jsonLimits, type Reading as PolicyReading } from './policy.js';

/** What the recorder is built from. */
export interface RecorderDeps {
  states: EnforcementStore;
  notices: EnforcementNotices;
  outbox: Outbox;
  applier: Applier;
  registry: client.Registry;
}

/** Records transitions and unknowns in the caller's transaction, and carries decisions out after commit. */
export class EnforcementRecorder {
  private readonly transitions: client.Counter<'to'>;

  constructor(private readonly d: RecorderDeps) {
    this.transitions = new client.Counter({ name: 'headroom_enforcement_transitions_total', help: 'Enforcement transitions by target state', labelNames: ['to'], registers: [d.registry] });
  }

  /** Writes the transition row, its audit row and its notice. */
  async transition(trx: Db, v: Volume, cur: StateRow, next: StateRow, actor: Actor, detail: string | null, counts: PassCounts): Promise<void> {
    await this.d.states.transacting(trx).insertTransition(v.id, v.tenantId, {
      from: cur.state,
      to: next.state,
      reason: next.reason,
      bytes: next.bytes,
      inodes: next.inodes,
      limits: jsonLimits(v),
      actor: actor.sub,
      detail,
    });
    await recordAudit(trx, actor, {
      action: 'enforcement.transition',
      entityType: 'enforcement',
      entityId: v.id,
      tenantId: v.tenantId,
      before: { state: cur.state, reason: cur.reason, manual: cur.manual?.reason ?? null },
      after: {
        state: next.state,
        reason: next.reason,
        manual: next.manual?.reason ?? null,
        bytes: String(next.bytes),
        inodes: String(next.inodes),
        capacity: String(next.desiredCapacity),
        capacityInodes: String(next.desiredInodes),
        detail,
      },
    });
    counts.transitions++;
    this.transitions.inc({ to: next.state });
    const type = await this.d.notices.transition(trx, v, cur, next, detail);
    if (type === 'quota.frozen') counts.frozen++;
    if (type === 'quota.unfrozen') counts.unfrozen++;
    if (type) counts.notices++;
  }

  /** A volume newly unknown (its reading cannot be acted upon): the audit row and the admins' notice. */
  async unknown(trx: Db, v: Volume, actor: Actor, cur: StateRow, reading: PolicyReading, why: string, now: Date, counts: PassCounts): Promise<void> {
    counts.unknown++;
    await recordAudit(trx, actor, {
      action: 'enforcement.unknown',
      entityType: 'enforcement',
      entityId: v.id,
      tenantId: v.tenantId,
      before: { state: cur.state },
      after: { state: cur.state, unknown: why },
    });
    const data = await this.d.notices.noticeData(trx, v, cur, reading, why);
    if (await this.d.outbox.enqueue(trx, { eventKey: `${v.id}:unknown:${now.toISOString()}`, type: 'admin.volume_unknown', audience: 'admins', tenantId: v.tenantId, volumeId: v.id, data }))
      counts.notices++;
  }

  /** Carries a committed decision out now (the applier records, retries and never throws for a system's failure). */
  async carryOut(volumeId: string, counts: PassCounts): Promise<void> {
    const r = await this.d.applier.apply(volumeId);
    if (r.wrote.includes('metadata')) counts.limitWrites++;
    if (r.failed.length) counts.errors++;
  }
}
