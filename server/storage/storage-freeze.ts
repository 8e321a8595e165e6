/**
 * The storage layer of a freeze: a SeaweedFS read-only rule on the volume's object prefix, which
 * stops every writer (also clients that ignore or lag behind the JuiceFS capacity clamp) while
 * reads and deletes keep working. Headroom's rules in filer.conf are always written as a whole
 * set, the volumes whose desired state in PostgreSQL says frozen, so any write of the set also
 * repairs whatever someone's edit of filer.conf dropped or added.
 */
import type { Knex } from 'knex';
import { storageFrozenVolumes } from '../enforcement/storage-rules-read-model.js';
import { juicefsName } from '../meta/juicefs-metadata.js';
import type { Volume } from '../volumes/volume.js';
import { SeaweedStorage } from './seaweedfs/seaweedfs-storage.js';

/** What enforcement needs of the storage layer. */
export interface StorageFreezer {
  /** The rule prefix that freezes `v`'s objects. */
  prefixOf(v: Pick<Volume, 'prefix' | 'storage'>): string;
  /**
   * Writes the rules of every volume desired frozen now; returns each such volume's generation
   * as read before the write (what the write carried out).
   */
  applyDesired(): Promise<Map<string, bigint>>;
  /** The rule prefixes of Headroom's that filer.conf holds now. */
  observe(): Promise<Set<string>>;
}

/** Freeze rules in SeaweedFS, from the desired states in PostgreSQL. */
export class StorageFreeze implements StorageFreezer {
  constructor(
    private readonly db: Knex,
    private readonly storage: SeaweedStorage,
  ) {}

  prefixOf(v: Pick<Volume, 'prefix' | 'storage'>): string {
    return SeaweedStorage.freezePrefix(v.storage.bucket ?? '', juicefsName(v));
  }

  async applyDesired(): Promise<Map<string, bigint>> {
    const rows = await storageFrozenVolumes(this.db);
    await this.storage.setFrozen(new Set(rows.map((r) => SeaweedStorage.freezePrefix(r.bucket, juicefsName(r)))));
    return new Map(rows.map((r) => [r.volumeId, r.generation]));
  }

  observe(): Promise<Set<string>> {
    return this.storage.frozenPrefixes();
  }
}
