/**
 * Purging a deleted volume: its storage freeze rule is dropped, its bucket revoked from the
 * tenant's keys and deleted, every metadata key removed, and the volume marked `purged`. Each step
 * is idempotent, so a purge cut short is finished by asking again.
 */
import { failpoint } from '../lib/failpoints.js';
import { DependencyUnavailableError } from '../lib/deadline.js';
import type { Actor } from '../audit/audit-log.js';
import type { Principal } from '../auth/principal.js';
import { errors } from '../lib/errors.js';
import { presentVolume, type Volume } from './volume.js';
import type { VolumeMetadata } from '../meta/volume-metadata.js';
import type { VolumeService } from './volume-service.js';
import type { VolumeStore } from './volume-store.js';

/** Purges deleted volumes. */
export class VolumePurger {
  constructor(
    private readonly store: VolumeStore,
    private readonly volumes: VolumeService,
    private readonly metadata: Pick<VolumeMetadata, 'purge'>,
    /** Enforcement: drops the volume's storage freeze rule before its bucket goes. */
    private readonly enforcement: { releaseStorage(volumeId: string): Promise<void> },
    private readonly storage?: { purge(v: Volume): Promise<void> },
  ) {}

  async purge(actor: Actor, principal: Principal, volumeId: string, confirm: string): Promise<Volume> {
    const v = await this.volumes.get(principal, volumeId);
    if (v.state === 'purged') return v;
    if (v.state !== 'deleting') throw errors.volumeState(volumeId, v.state, 'purge (delete it first)');
    if (confirm !== v.name) throw errors.validation(`"confirm" must repeat the volume's name ("${v.name}") to purge it`, [{ path: '/body/confirm', message: 'must equal the volume name' }]);
    if (v.storage.bucket) await this.enforcement.releaseStorage(v.id);
    await this.storage?.purge(v);
    failpoint('purge.after-storage');
    let keysDeleted: number;
    try {
      ({ keysDeleted } = await this.metadata.purge(v));
    } catch (err) {
      if (err instanceof DependencyUnavailableError) throw err; // unreachable or hung: 503 naming it; purge again later
      throw errors.metadataUnavailable(`could not delete the volume's metadata; purge again to finish: ${(err as Error).message}`);
    }
    failpoint('purge.after-metadata');
    return this.store.transaction(async ({ store, audit }) => {
      const before = (await store.find(v.id, { forUpdate: true }))!;
      if (before.state !== 'deleting') return before;
      const after = await store.setState(v.id, 'purged', `purged: ${keysDeleted} metadata keys${v.storage.bucket ? `, bucket ${v.storage.bucket}` : ''} removed`);
      await audit(actor, {
        action: 'volume.purged',
        entityType: 'volume',
        entityId: v.id,
        tenantId: v.tenantId,
        before: presentVolume(before),
        after: { ...presentVolume(after), keysDeleted },
      });
      return after;
    });
  }
}
