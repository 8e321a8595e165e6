/**
 * Soft/hard/grace/hysteresis/freeze for directory quotas, decided by the volumes' own pure policy
 * (`enforcement/policy.ts: decide`, not a copy) over a directory's limits and the usage JuiceFS
 * keeps in its quota record. A freeze clamps the directory's hard limits to its usage (never
 * above the hard limit), so the mount refuses growth with EDQUOT; release is below the soft
 * limit minus the hysteresis margin, as for volumes.
 *
 * The desired-state discipline of volumes: a pass reads the page's records in one batch, decides
 * in memory, and only quotas whose decision changes something take the locked path (decide again
 * on the locked row, commit with the audit row), then the record is written after commit. Every
 * pass also verifies: a record whose limits differ from what is desired (someone ran `juicefs
 * quota set`), or that vanished (`juicefs quota delete`), is rewritten and counted as drift.
 */
import type { Logger } from 'pino';
import type { Actor } from '../audit/audit-log.js';
import { decide, jsonLimits, limitsOf, toRelease, type Decision, type PolicyOptions, type Reading } from '../enforcement/policy.js';
import { subjectAfter, subjectCurrent, subjectNeedsWrite, subjectTransition, type ClampOf, type EnforcedSubject, type ManualFreeze, type Transition } from '../enforcement/subject-decision.js';
import type { NewNotice, NoticeType } from '../notifications/notice.js';
import type { DirQuotaMetadata, DirQuotaRecord, UserGroupQuotaMetadata, VolumeRef } from '../meta/volume-metadata.js';
import { desiredLimits, type DirectoryQuota, type DirectoryQuotaEnforcement, type ObservedLimits } from './directory-quota.js';
import type { DirectoryQuotaApplier } from './directory-quota-applier.js';
import type { DirectoryQuotaStore, NewDirectoryQuotaSample } from './directory-quota-store.js';
import { readQuotaRecords } from './quota-record-reads.js';

/** The actor of pass decisions in the audit log. */
export const DIR_ENFORCER: Actor = { sub: 'system:directory-quota-enforcer', role: 'system' };

/** What one pass did. */
export interface PassReport {
  evaluated: number;
  changed: number;
  unknown: number;
  drifts: number;
  /** Usage samples written: readings that changed, or whose quota's last sample is an hour old. */
  sampled: number;
}

/** What the enforcer needs. */
export interface EnforcerDeps {
  store: DirectoryQuotaStore;
  metadata: Pick<DirQuotaMetadata, 'readDirQuotasMany'> & Partial<Pick<UserGroupQuotaMetadata, 'readUserGroupQuotasMany'>>;
  applier: DirectoryQuotaApplier;
  volumeRef: (volumeId: string) => Promise<(VolumeRef & { name?: string }) | undefined>;
  /** `walkMaxAgeMs`: oldest walk acted upon for quotas without native records (default 48 h). */
  opts: PolicyOptions & { publicUrl?: string; walkMaxAgeMs?: number };
  log?: Logger;
  clock?: () => Date;
}

/** A record (or its absence, or a failed read) as the policy reads usage. */
export function readingOf(rec: DirQuotaRecord | null | Error | undefined, at: Date): Reading {
  if (rec instanceof Error) return { ok: false, error: rec.message };
  if (!rec) return { ok: false, error: 'the JuiceFS quota record is missing' };
  return { ok: true, bytes: rec.usedSpace, inodes: rec.usedInodes, readAt: at };
}

/** A walk's figures as a reading (quotas JuiceFS does not count). */
const walkReading = (q: DirectoryQuota): Reading =>
  q.walkUsage ? { ok: true, bytes: q.walkUsage.bytes, inodes: q.walkUsage.inodes, readAt: q.walkUsage.at } : { ok: false, error: 'no walk has measured this directory yet' };

/**
 * What the policy is given for a quota: its limits, except that without native quotas grace
 * never runs out (there is nothing to freeze with but the whole volume, which Headroom will not
 * do for one folder): such quotas go over soft and warn, never freeze.
 */
const limitsFor = (q: DirectoryQuota) => (q.native ? limitsOf(q) : { ...limitsOf(q), hardBytes: null, hardInodes: null, graceSeconds: 100 * 365 * 86400 });

const min = (a: bigint, b: bigint | null) => (b !== null && b < a ? b : a);
/** ≤ 0 is unlimited in JuiceFS, whichever of 0 and −1 a version wrote. */
const norm = (l: ObservedLimits) => ({ maxSpace: l.maxSpace > 0n ? l.maxSpace : -1n, maxInodes: l.maxInodes > 0n ? l.maxInodes : -1n });
const sameLimits = (a: ObservedLimits | null, b: ObservedLimits | null) => (a === null || b === null ? a === b : norm(a).maxSpace === norm(b).maxSpace && norm(a).maxInodes === norm(b).maxInodes);

/** A quota's enforcement as an enforced subject (its clamp is the freeze's limits; null = the hard limits). */
function subjectOf({ desired, ...e }: DirectoryQuotaEnforcement): EnforcedSubject<ManualFreeze, string | null> {
  return { ...e, clamp: desired && { bytes: desired.maxSpace, inodes: desired.maxInodes } };
}

/** What JuiceFS holds after a decision: frozen, the usage but never above a hard limit JuiceFS already enforces; else the hard limits. */
const clampFor =
  (q: DirectoryQuota): ClampOf =>
  (d) =>
    d.next === 'frozen' ? { bytes: min(d.capacity.bytes, q.quota.hardBytes), inodes: min(d.capacity.inodes, q.quota.hardInodes) } : null;

const current = (e: DirectoryQuotaEnforcement) => subjectCurrent(subjectOf(e));

/** The enforcement a decision leaves on the row. */
export function enforcementAfter(q: DirectoryQuota, d: Decision, now: Date): DirectoryQuotaEnforcement {
  const { clamp, ...s } = subjectAfter(subjectOf(q.enforcement), d, now, clampFor(q));
  // As a volume's, the reason is the one the quota entered its state for (a frozen quota whose
  // usage drops but stays over the release line is still frozen at its hard limit).
  return { ...s, desired: clamp && { maxSpace: clamp.bytes, maxInodes: clamp.inodes } };
}

/** Whether the decision changes anything on the row (a new reason alone does not, as for volumes). */
const changes = (q: DirectoryQuota, d: Decision, now: Date): boolean => subjectNeedsWrite(subjectOf(q.enforcement), d, now, clampFor(q));

/** A quota's notice of each transition; as for a volume, leaving a freeze is told even when the quota stays over soft. */
function transitionNotice(q: DirectoryQuota, e: DirectoryQuotaEnforcement): NoticeType | undefined {
  const t: Transition | null = subjectTransition(q.enforcement, e);
  if (t === 'frozen') return 'directory.frozen';
  if (t === 'soft_exceeded') return q.native ? 'directory.soft_exceeded' : 'directory.soft_warning';
  if (t === 'unfrozen') return 'directory.unfrozen';
  return undefined;
}

/** Directory quota enforcement: the pass and the admin freeze. */
export class DirectoryQuotaEnforcer {
  private readonly clock: () => Date;
  constructor(private readonly d: EnforcerDeps) {
    this.clock = d.clock ?? (() => new Date());
  }

  /** Decides and verifies every enforceable quota, a page at a time. */
  async pass(pageSize = 1000): Promise<PassReport> {
    const report: PassReport = { evaluated: 0, changed: 0, unknown: 0, drifts: 0, sampled: 0 };
    for (let afterId: string | undefined; ;) {
      const page = await this.d.store.enforceable({ afterId, limit: pageSize });
      if (!page.length) return report;
      await this.page(page, report);
      afterId = page[page.length - 1]!.id;
    }
  }

  /** Decides one quota now, as a pass would (a granted request unfreezes at once, not at the next pass). */
  async recheck(q: DirectoryQuota): Promise<void> {
    await this.page([q], { evaluated: 0, changed: 0, unknown: 0, drifts: 0, sampled: 0 });
  }

  private async page(page: DirectoryQuota[], report: PassReport): Promise<void> {
    const refs = new Map<string, VolumeRef | undefined>();
    for (const q of page) if (!refs.has(q.volumeId)) refs.set(q.volumeId, await this.d.volumeRef(q.volumeId));
    const recs = await this.records(page, refs);
    const now = this.clock();
    const samples: NewDirectoryQuotaSample[] = [];
    for (const q of page) {
      const rec = recs.get(q.id);
      const reading = q.native ? readingOf(rec, now) : walkReading(q);
      const d = decide(limitsFor(q), reading, current(q.enforcement), now, this.optsFor(q));
      report.evaluated++;
      if (d.kind === 'unknown') report.unknown++;
      // The usage history keeps what was read (an unknown read keeps nothing), at the time it was read.
      else if (reading.ok) samples.push({ quotaId: q.id, tenantId: q.tenantId, at: reading.readAt, bytes: reading.bytes, inodes: reading.inodes });
      if (changes(q, d, now)) {
        report.changed++;
        const row = await this.commit(q.tenantId, q.id, () => reading, DIR_ENFORCER);
        if (row) await this.d.applier.apply(row);
      } else if (q.native && q.appliedGeneration === q.generation && rec !== undefined && !(rec instanceof Error) && (rec === null || !sameLimits(rec, desiredLimits(q)))) {
        report.drifts++;
        this.d.log?.warn({ quotaId: q.id, volumeId: q.volumeId, found: rec && { maxSpace: String(rec.maxSpace), maxInodes: String(rec.maxInodes) } }, 'directory quota record drifted; rewriting it');
        await this.d.store.transaction(({ audit }) =>
          audit(DIR_ENFORCER, {
            action: 'directory_quota.drift_repaired',
            entityType: 'directory_quota',
            entityId: q.id,
            tenantId: q.tenantId,
            before: { quotaId: q.id, volumeId: q.volumeId, record: rec && { maxSpace: String(rec.maxSpace), maxInodes: String(rec.maxInodes) } },
            after: { quotaId: q.id },
          }),
        );
        await this.d.applier.apply(q);
      }
    }
    report.sampled += await this.sample(samples);
  }

  /**
   * Keeps a page's readings as usage history, in one batch. A failed write is logged, not thrown:
   * the history misses a point, but the pass still decides and verifies the pages after it.
   */
  private async sample(samples: NewDirectoryQuotaSample[]): Promise<number> {
    if (!samples.length) return 0;
    return this.d.store.recordSamples(samples).catch((err: unknown) => {
      this.d.log?.warn({ err }, 'recording directory quota samples failed; their history misses this pass');
      return 0;
    });
  }

  /** Policy options for a quota: walk figures may be as old as the nightly walk allows. */
  private optsFor(q: DirectoryQuota): PolicyOptions {
    return q.native ? this.d.opts : { ...this.d.opts, maxReadingAgeMs: this.d.opts.walkMaxAgeMs ?? 48 * 3600_000 };
  }

  /** The page's records by row id: directories and uids/gids each in one batch. */
  private async records(page: DirectoryQuota[], refs: Map<string, VolumeRef | undefined>): Promise<Map<string, DirQuotaRecord | null | Error>> {
    const known = page.filter((q) => refs.get(q.volumeId));
    const read = await readQuotaRecords(
      this.d.metadata,
      known.map((quota) => ({ quota, volume: refs.get(quota.volumeId)! })),
    );
    // A record read as absent is null (not "not read"): only a missing answer is an error.
    return new Map(known.map((q) => [q.id, read.has(q.id) ? read.get(q.id)! : new Error('not read')]));
  }

  /**
   * The locked path: decide again on the locked row (with `change` applied to its manual freeze
   * first), write the new enforcement and, when the desired limits move, a new generation.
   */
  private commit(tenantId: string, id: string, reading: () => Reading, actor: Actor, change?: (e: DirectoryQuotaEnforcement) => DirectoryQuotaEnforcement): Promise<DirectoryQuota | undefined> {
    return this.d.store.transaction(async ({ store, audit, notify }) => {
      const q = await store.find(tenantId, id, { forUpdate: true });
      if (!q || q.state !== 'active' || !q.managed) return undefined;
      const base = change ? { ...q, enforcement: change(q.enforcement) } : q;
      const r = q.native ? reading() : walkReading(q);
      const d = decide(limitsFor(base), r, current(base.enforcement), this.clock(), this.optsFor(q));
      const e = enforcementAfter(base, d, this.clock());
      const after = (await store.update(tenantId, id, { enforcement: e, bump: !sameLimits(q.enforcement.desired, e.desired) }))!;
      const notice = this.notice(q, e, r, await this.d.volumeRef(q.volumeId));
      if (notice) await notify(notice);
      if (e.state !== q.enforcement.state || change) {
        const show = (x: DirectoryQuotaEnforcement) => ({ state: x.state, reason: x.reason, graceDeadline: x.graceDeadline?.toISOString() ?? null, manual: !!x.manual });
        await audit(actor, {
          action: `directory_quota.enforcement.${e.state}`,
          entityType: 'directory_quota',
          entityId: id,
          tenantId,
          before: { quotaId: id, volumeId: q.volumeId, ...show(q.enforcement) },
          after: { quotaId: id, ...show(e) },
        });
      }
      return after;
    });
  }

  /** The notice a transition sends to the tenant (the quota's owner among them), or none. */
  private notice(q: DirectoryQuota, e: DirectoryQuotaEnforcement, r: Reading, v: { name?: string } | undefined): NewNotice | undefined {
    const type = transitionNotice(q, e);
    if (!type) return undefined;
    const usage = r.ok ? { bytes: String(r.bytes), inodes: String(r.inodes) } : null;
    const base = `${this.d.opts.publicUrl ?? ''}/v1/volumes/${q.volumeId}/directory-quotas/${q.id}`;
    const free = r.ok ? toRelease(limitsOf(q), r, this.d.opts.hysteresis) : null;
    return {
      // One notice per transition: a retried decision of the same transition has the same key.
      eventKey: `dq:${q.id}:${type}:${e.since.toISOString()}`,
      type,
      audience: 'tenant',
      tenantId: q.tenantId,
      volumeId: q.volumeId,
      data: {
        volume: { id: q.volumeId, name: v?.name ?? q.volumeId },
        tenant: { id: q.tenantId, name: q.tenantId },
        state: e.state,
        reason: e.reason ?? 'within_limits',
        usage,
        limits: jsonLimits(q),
        graceDeadline: q.native ? (e.graceDeadline?.toISOString() ?? null) : null,
        forecast: null,
        topDirectories: [],
        toRelease: free && { bytes: String(free.bytes), inodes: String(free.inodes) },
        links: { enforcement: base, request: base },
        detail: q.path.toString('utf8'),
        manualUntil: e.manual?.until?.toISOString() ?? null,
      },
    };
  }

  /** An admin freeze of one quota (held until `until` or an unfreeze), applied after commit. */
  async freeze(actor: Actor, q: DirectoryQuota, rec: DirQuotaRecord | null | Error | undefined, manual: { until: Date | null; reason: string }): Promise<DirectoryQuota | undefined> {
    const reading = readingOf(rec, this.clock());
    const row = await this.commit(
      q.tenantId,
      q.id,
      () => reading,
      actor,
      (e) => ({ ...e, manual }),
    );
    if (row) await this.d.applier.apply(row);
    return row && (await this.d.store.find(q.tenantId, q.id));
  }

  /** Lifts an admin freeze; the quota lands where its usage says, as a volume does. */
  async unfreeze(actor: Actor, q: DirectoryQuota, rec: DirQuotaRecord | null | Error | undefined): Promise<DirectoryQuota | undefined> {
    const reading = readingOf(rec, this.clock());
    const row = await this.commit(
      q.tenantId,
      q.id,
      () => reading,
      actor,
      (e) => ({ ...e, manual: null, state: 'ok', graceDeadline: null }),
    );
    if (row) await this.d.applier.apply(row);
    return row && (await this.d.store.find(q.tenantId, q.id));
  }
}
