/**
 * Dry runs of the enforcement passes: what a pass would change, worked out from the same read
 * and decide phases, with the locked commit path, the apply, the verification and the forecast
 * notices left out. Pure: the pass hands each volume it would send down the locked path here.
 *
 * What it reports per volume is what {@link EnforcementService.decideLocked} would record: the
 * transition (from, to, reason), the desired JuiceFS limits when they change (a limit write by
 * the applier after commit), the storage rule when it flips, the notices the commit would enqueue
 * (the outbox deduplicates by event key, so a notice already sent is listed again here), and the
 * volumes that would become `unknown`. Drift the verifier would repair is not predicted: finding
 * it needs the systems' own reads, which a dry run skips along with everything after commit.
 */
import type { NoticeType } from '../notifications/notice.js';
import type { Volume } from '../volumes/volume.js';
import { GRACE_WARNING_MS, transitionNoticeType } from './enforcement-notices.js';
import type { StateRow } from './enforcement-store.js';
import type { Decision, EnforcementState, Reason } from './policy.js';
import { graceWarningDue } from './subject-decision.js';

/** One volume a pass would change. */
export interface DryRunChange {
  volumeId: string;
  tenantId: string;
  transition: { from: EnforcementState; to: EnforcementState; reason: Reason } | null;
  /** The JuiceFS Capacity/Inodes to be written (0 = unlimited), when they differ from the desired ones now. */
  limitWrite: { from: { capacity: bigint | null; inodes: bigint | null }; to: { capacity: bigint; inodes: bigint } } | null;
  /** The SeaweedFS read-only rule, when it would be set (true) or lifted (false). */
  storageRule: boolean | null;
  /** Set when the reading cannot be acted upon: the volume would be marked unknown. */
  unknown: string | null;
  /** The volume was unknown and would be trusted again. */
  clearsUnknown: boolean;
  notices: NoticeType[];
}

/** What a dry run found. */
export interface DryRunReport {
  changes: DryRunChange[];
}

/** The change `d` would make to `cur` on the locked path (the caller checked `needsWrite`: something is written). */
export function wouldChange(v: Volume, cur: StateRow, d: Decision, now: Date, hasStorage: boolean): DryRunChange {
  const base = { volumeId: v.id, tenantId: v.tenantId, transition: null, limitWrite: null, storageRule: null, clearsUnknown: false };
  if (d.kind === 'unknown') {
    // Only the first unknown reading is audited and told to admins; later ones update the reason.
    return { ...base, unknown: d.why, notices: cur.unknownReason === null ? ['admin.volume_unknown'] : [] };
  }
  const next = d.changed ? d.next : cur.state;
  const notices: NoticeType[] = [];
  const type = d.changed ? transitionNoticeType(cur, { state: d.next, manual: d.clearManual ? null : cur.manual }) : null;
  if (type) notices.push(type);
  if (graceWarningDue(next, d.graceDeadline, now, GRACE_WARNING_MS)) notices.push('quota.grace_ending');
  const limitsChange = cur.desiredCapacity !== d.capacity.bytes || cur.desiredInodes !== d.capacity.inodes;
  const storage = hasStorage && next === 'frozen';
  return {
    ...base,
    transition: d.changed ? { from: cur.state, to: d.next, reason: d.reason } : null,
    limitWrite: limitsChange ? { from: { capacity: cur.desiredCapacity, inodes: cur.desiredInodes }, to: { capacity: d.capacity.bytes, inodes: d.capacity.inodes } } : null,
    storageRule: cur.storageDesired !== storage ? storage : null,
    unknown: null,
    clearsUnknown: cur.unknownReason !== null,
    notices,
  };
}

/** The API shape of a dry run: totals by kind of change, then each volume's changes. */
export function presentDryRun(job: string, at: Date, r: { counts: Record<string, number>; report: DryRunReport }) {
  const n = (x: bigint | null) => (x === null ? null : Number(x));
  const c = r.report.changes;
  return {
    job,
    dryRun: true as const,
    at: at.toISOString(),
    counts: {
      volumes: r.counts.volumes ?? 0,
      readFailed: r.counts.readFailed ?? 0,
      transitions: c.filter((x) => x.transition).length,
      frozen: c.filter((x) => x.transition?.to === 'frozen').length,
      unfrozen: c.filter((x) => x.transition?.from === 'frozen' && x.transition.to !== 'frozen').length,
      unknown: c.filter((x) => x.unknown !== null).length,
      limitWrites: c.filter((x) => x.limitWrite).length,
      storageRules: c.filter((x) => x.storageRule !== null).length,
      notices: c.reduce((s, x) => s + x.notices.length, 0),
    },
    changes: c.map((x) => ({
      volumeId: x.volumeId,
      tenantId: x.tenantId,
      transition: x.transition,
      limitWrite: x.limitWrite && {
        from: { capacity: n(x.limitWrite.from.capacity), inodes: n(x.limitWrite.from.inodes) },
        to: { capacity: Number(x.limitWrite.to.capacity), inodes: Number(x.limitWrite.to.inodes) },
      },
      storageRule: x.storageRule,
      unknown: x.unknown,
      clearsUnknown: x.clearsUnknown,
      notices: x.notices,
    })),
  };
}
