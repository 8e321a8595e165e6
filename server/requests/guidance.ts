/**
 * What an engineer can do about a volume, for the usage and "why am I frozen?" answers: the
 * pending request if there is one, and the next steps in plain words.
 */
import type { Db } from '../db/database.js';
import { humanBytes, humanCount } from '../notifications/humanize.js';
import { KnexRequestStore } from './knex-request-store.js';
import type { QuotaRequest, RequestStore } from './request-store.js';

/** What the usage and enforcement answers read of quota requests, in the caller's transaction (or pool). */
export interface PendingRequestReadModel {
  /** The pending request of the volume's own quota, if any. */
  pending(db: Db, volumeId: string): Promise<QuotaRequest | undefined>;
}

/** The read model over a request store, joining the caller's transaction. */
export function pendingRequestReadModel(store: Pick<RequestStore, 'joined'>): PendingRequestReadModel {
  return { pending: (db, volumeId) => store.joined(db).store.pending(volumeId) };
}

/** The read model over PostgreSQL, for callers not yet handed one. */
const knexPendingRequests: PendingRequestReadModel = { pending: (db, volumeId) => new KnexRequestStore(db).pending(volumeId) };

/**
 * The link to a volume's pending request, or null. `reads` is the composition root's read model;
 * without one (callers not yet given it) the PostgreSQL one reads `db`.
 */
export async function pendingLink(db: Db, volumeId: string, publicUrl: string, reads: PendingRequestReadModel = knexPendingRequests) {
  const p = await reads.pending(db, volumeId);
  return p ? present(p, publicUrl) : null;
}

function present(p: QuotaRequest, publicUrl: string) {
  return {
    id: p.id,
    requested: Object.fromEntries(Object.entries(p.requested).map(([k, v]) => [k, v === null ? null : Number(v)])),
    until: p.until?.toISOString() ?? null,
    createdAt: p.createdAt.toISOString(),
    href: `${publicUrl}/v1/quota-requests/${p.id}`,
  };
}

/** Next steps for the volume's owner. */
export function whatYouCanDo(o: {
  volumeId: string;
  publicUrl: string;
  state: 'ok' | 'over_soft' | 'frozen';
  manual: { by: string; reason: string } | null;
  toRelease: { bytes: bigint; inodes: bigint } | null;
  pending: { id: string; href: string } | null;
}): string[] {
  const out: string[] = [];
  const requestUrl = `${o.publicUrl}/v1/volumes/${o.volumeId}/quota-requests`;
  if (o.manual) out.push(`An admin (${o.manual.by}) froze this volume: "${o.manual.reason}". Ask them to lift it.`);
  if (o.state !== 'ok' && o.toRelease && (o.toRelease.bytes > 0n || o.toRelease.inodes > 0n)) {
    const what = [o.toRelease.bytes > 0n ? humanBytes(o.toRelease.bytes) : null, o.toRelease.inodes > 0n ? `${humanCount(o.toRelease.inodes)} files` : null].filter(Boolean).join(' and ');
    out.push(`Delete at least ${what} (old checkpoints, caches), then remove them from .trash, where deleted files keep counting until purged.`);
  }
  if (o.pending) out.push(`Your request ${o.pending.id} is waiting for an admin (${o.pending.href}); cancel it with POST ${o.pending.href}/cancel to ask for something else.`);
  else out.push(`Ask for more room: POST ${requestUrl} with {"hardBytes": ..., "reason": "..."} (add "until" for a temporary grant); routine requests are granted at once.`);
  return out;
}
