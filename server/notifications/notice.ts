/**
 * The notices Headroom sends: their types, the data each carries, and the payload version.
 * Data is snapshotted when the notice is enqueued (numbers as decimal strings, so bytes past
 * 2^53 survive JSON), and rendered into words only when it is delivered.
 */

/** Bumped when the webhook payload changes incompatibly; receivers switch on it. */
export const PAYLOAD_VERSION = 1;

/** Every kind of notice. */
export const noticeTypes = [
  'quota.soft_exceeded',
  'quota.grace_ending',
  'quota.frozen',
  'quota.unfrozen',
  'quota.forecast_full',
  'quota.request_approved',
  'quota.request_denied',
  'quota.grant_reverted',
  'admin.volume_unknown',
  'admin.request_pending',
  'admin.storage_gap',
  'admin.enforcement_drift',
] as const;
export type NoticeType = (typeof noticeTypes)[number];

/** Languages notices are written in. */
export const languages = ['en', 'zh'] as const;
export type Language = (typeof languages)[number];

/** What a notice knows about its volume at the time of the event. */
export interface NoticeData {
  volume: { id: string; name: string };
  tenant: { id: string; name: string };
  state: string;
  reason: string;
  usage: { bytes: string; inodes: string } | null;
  limits: { softBytes: string | null; hardBytes: string | null; softInodes: string | null; hardInodes: string | null };
  graceDeadline: string | null;
  forecast: { fullAt: string; bytesPerDay: string } | null;
  /** Largest top-level folders from the latest walk, biggest first. */
  topDirectories: { path: string; bytes: string; inodes: string }[];
  /** Bytes and inodes to delete to be released (below the soft limit minus the margin). */
  toRelease: { bytes: string; inodes: string } | null;
  links: { enforcement: string; request: string };
  detail: string | null;
  manualUntil: string | null;
  /** For request notices: what was asked and what was decided. */
  request?: {
    id: string;
    requestedBy: string;
    reason: string;
    requested: Record<string, string | null>;
    granted: Record<string, string | null> | null;
    until: string | null;
    comment: string | null;
    explanation: string;
    link: string;
  };
}

/** A notice to enqueue. */
export interface NewNotice {
  /** Unique per event: enqueueing the same key twice is a no-op ("never the same event twice"). */
  eventKey: string;
  type: NoticeType;
  audience: 'tenant' | 'admins';
  tenantId: string;
  volumeId: string;
  data: NoticeData;
}
