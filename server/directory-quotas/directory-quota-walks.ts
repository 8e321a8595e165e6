/**
 * What a walk gives directory quotas: on volumes without native quotas (JuiceFS v0.17, or
 * DirStats off) JuiceFS keeps no usage per directory, so each successful walk's figures for the
 * quota directories become their usage (soft limits, warnings and notices work from them; a
 * hard limit there is refused). Runs inside the walk's success transaction: PostgreSQL only,
 * never a metadata call (discovery of new JuiceFS records runs after, outside it).
 */
import type { Knex } from 'knex';
import type { WalkOutcome } from '../meta/volume-metadata.js';
import type { WalkListener } from '../walks/walk-service.js';
import type { Volume } from '../volumes/volume.js';
import type { DirectoryQuotaStore } from './directory-quota-store.js';

/** Quotas per volume read in one walk's transaction (more are left to the next walk). */
const MAX_QUOTAS = 10_000;

/** The walk listener of directory quotas; `storeOf` binds the store to the walk's transaction. */
export class DirectoryQuotaWalks implements WalkListener {
  constructor(private readonly storeOf: (trx: Knex.Transaction) => DirectoryQuotaStore) {}

  async walkSucceeded(trx: Knex.Transaction, volume: Volume, _walkId: string, outcome: WalkOutcome, walkedAt: Date): Promise<void> {
    const store = this.storeOf(trx);
    const rows = (await store.list(volume.tenantId, volume.id, { limit: MAX_QUOTAS, kind: 'dir' })).filter((q) => !q.native && q.state === 'active');
    if (!rows.length) return;
    const byInode = new Map(outcome.directories.filter((d) => !d.inTrash).map((d) => [d.inode, d]));
    for (const q of rows) {
      const d = byInode.get(q.inode);
      // A walk's directory figures leave the directory itself out (it counts in its parent), as
      // JuiceFS's quota usage does; hard links count once per directory rather than per link.
      if (d) await store.recordWalkUsage(q.tenantId, q.id, { bytes: d.bytes, inodes: d.inodes, at: walkedAt });
    }
  }
}
