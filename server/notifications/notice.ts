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
  // Early warning: the soft limit is reached within FORECAST_WARN_SOFT_DAYS at this rate.
  'quota.forecast_soft',
  // The weekly digest of a tenant's volumes (volumeId: the tenant's largest volume).
  'tenant.digest',
  'quota.request_approved',
  'quota.request_denied',
  'quota.grant_reverted',
  'admin.volume_unknown',
  'admin.request_pending',
  'admin.storage_gap',
  'admin.enforcement_drift',
  // Directory quotas inside a volume (`detail` names the directory).
  'directory.soft_exceeded',
  'directory.soft_warning',
  'directory.frozen',
  'directory.unfrozen',
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
  /** Early warnings: which limit the forecast reaches, and within which horizon. */
  warning?: { level: 'soft' | 'hard'; limitBytes: string; horizonDays: number };
  /** Early warnings and digests: the largest findings of the latest walk. */
  findings?: NoticeFinding[];
  /** Digests: one line of figures per volume. */
  digest?: DigestData;
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

/** A walk finding as a notice carries it (see server/insights/insight-rules.ts). */
export interface NoticeFinding {
  rule: string;
  paths: string[];
  bytes: string;
  files: string;
  reclaimableBytes: string;
  details: Record<string, unknown>;
}

/** The weekly digest's figures. */
export interface DigestData {
  week: string;
  volumes: {
    id: string;
    name: string;
    state: string;
    bytes: string | null;
    hardBytes: string | null;
    softBytes: string | null;
    /** Growth over the last 7 days (negative: shrank), null without history. */
    growthBytes: string | null;
    fullAt: string | null;
    reclaimableBytes: string;
  }[];
  pendingRequests: number;
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
