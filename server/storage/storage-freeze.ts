/**
 * The storage layer of a freeze: a SeaweedFS read-only rule on the volume's object prefix, which
 * stops every writer (also clients that ignore or lag behind the JuiceFS capacity clamp) while
 * reads and deletes keep working. Headroom's rules in filer.conf are always written as a whole
 * set (the volumes whose state says `storage_frozen`), so the reconciler can re-apply the set when
 * someone's edit of filer.conf dropped one.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { juicefsName } from '../meta/juicefs-metadata.js';
import type { Volume } from '../volumes/volume.js';
import { SeaweedStorage } from './seaweedfs/seaweedfs-storage.js';

/** What enforcement needs of the storage layer. */
export interface StorageFreezer {
  /** Makes the volume's storage rule match `frozen` (with every other frozen volume's kept). */
  setVolumeFrozen(v: Volume, frozen: boolean): Promise<void>;
}

/** Freeze rules in SeaweedFS, from the enforcement states in PostgreSQL. */
export class StorageFreeze implements StorageFreezer {
  constructor(
    private readonly db: Knex,
    private readonly storage: SeaweedStorage,
    private readonly log: Logger,
  ) {}

  /** Rule prefixes of every volume meant to be frozen at the storage layer. */
  private async desired(): Promise<Map<string, string>> {
    const rows = (await this.db('enforcement_states as e')
      .join('volumes as v', 'v.id', 'e.volume_id')
      .where('e.storage_frozen', true)
      .whereNotNull('v.storage_bucket')
      .select('v.id', 'v.prefix', 'v.storage_bucket')) as { id: string; prefix: string; storage_bucket: string }[];
    return new Map(rows.map((r) => [r.id, SeaweedStorage.freezePrefix(r.storage_bucket, juicefsName(r))]));
  }

  async setVolumeFrozen(v: Volume, frozen: boolean): Promise<void> {
    if (!v.storage.bucket) return;
    const want = await this.desired();
    if (frozen) want.set(v.id, SeaweedStorage.freezePrefix(v.storage.bucket, juicefsName(v)));
    else want.delete(v.id);
    await this.storage.setFrozen(new Set(want.values()));
  }

  /** Re-applies the whole set; returns the rules that had to be put back or taken out. */
  async reconcile(): Promise<{ reapplied: number }> {
    const want = new Set((await this.desired()).values());
    const have = await this.storage.frozenPrefixes();
    const drift = [...want].filter((p) => !have.has(p)).length + [...have].filter((p) => !want.has(p)).length;
    if (drift) {
      this.log.warn({ drift }, 'storage freeze rules drifted from what Headroom set; re-applying');
      await this.storage.setFrozen(want);
    }
    return { reapplied: drift };
  }
}
