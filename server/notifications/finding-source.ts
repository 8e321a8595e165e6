/**
 * The top findings of a volume's latest walk, as early warnings and digests carry them: what
 * could go, where, and how much it frees. Read through the insights' store interface (given
 * structurally by the composition root), inside the caller's transaction.
 */
import type { Db } from '../db/database.js';
import type { Finding } from '../insights/insight-rules.js';
import type { NoticeFinding } from './notice.js';

/** What this needs of the insights store (server/insights/insight-store.ts). */
export interface FindingReader {
  in(trx: Db): FindingReader;
  recentWalks(tenantId: string, volumeId: string, limit: number): Promise<{ walkId: string }[]>;
  findings(tenantId: string, walkId: string): Promise<Finding[]>;
}

/** Reads the largest findings of the latest walk. */
export class FindingSource {
  constructor(private readonly reader: FindingReader) {}

  /** Up to `limit` findings of the volume's latest walk, largest reclaimable first. */
  async top(db: Db, tenantId: string, volumeId: string, limit: number): Promise<NoticeFinding[]> {
    const store = this.reader.in(db);
    const [latest] = await store.recentWalks(tenantId, volumeId, 1);
    if (!latest) return [];
    const all = await store.findings(tenantId, latest.walkId);
    return [...all]
      .filter((f) => f.reclaimableBytes > 0n)
      .sort((a, b) => (b.reclaimableBytes > a.reclaimableBytes ? 1 : b.reclaimableBytes < a.reclaimableBytes ? -1 : 0))
      .slice(0, limit)
      .map(toNoticeFinding);
  }
}

/** A finding as a notice snapshots it (numbers as decimal strings, at most 5 paths). */
export function toNoticeFinding(f: Finding): NoticeFinding {
  return { rule: f.rule, paths: f.paths.slice(0, 5), bytes: String(f.bytes), files: String(f.files), reclaimableBytes: String(f.reclaimableBytes), details: f.details };
}

/** Back to the insights' shape, to describe it in words at delivery. */
export function fromNoticeFinding(f: NoticeFinding): Finding {
  return { rule: f.rule as Finding['rule'], paths: f.paths, bytes: BigInt(f.bytes), files: BigInt(f.files), reclaimableBytes: BigInt(f.reclaimableBytes), details: f.details };
}
