/**
 * The engine step of onboarding, as a port: after a volume is recorded in PostgreSQL as
 * `provisioning`, the provisioner formats its metadata prefix as `juicefs format` would.
 * The composition root injects the real JuiceFS formatter; with none, volumes stay
 * `provisioning` rather than pretending to be formatted.
 */
import type { Volume } from './volume.js';

/** Formats a new volume's metadata; must be safe to call again for the same volume. */
export interface MetadataProvisioner {
  provision(volume: Volume): Promise<void>;
}
