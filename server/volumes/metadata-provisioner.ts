/**
 * The provisioning step of onboarding, as a port: after a volume is recorded in PostgreSQL as
 * `provisioning`, the provisioner creates its storage (when configured) and formats its metadata
 * as `juicefs format` would. Every step must be safe to repeat for the same volume: a crash is
 * finished by running it again (the reconciler does).
 */
import type { StorageTarget } from '../meta/volume-metadata.js';
import type { Volume } from './volume.js';

/** What provisioning hands back: the tenant's storage keys when this call created them (shown once). */
export interface ProvisionResult {
  newCredentials?: { accessKey: string; secretKey: string };
}

/** Provisions a new volume; must be safe to call again for the same volume. */
export interface MetadataProvisioner {
  provision(volume: Volume, target?: StorageTarget): Promise<void | ProvisionResult>;
  /** Undoes what a failed provisioning created (optional: formatting alone leaves nothing to undo). */
  rollback?(volume: Volume): Promise<void>;
}
