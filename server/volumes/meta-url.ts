/**
 * The META-URL a `juicefs mount` needs for a volume, built from the configured engine endpoints
 * and the volume's prefix (JuiceFS appends 0xFD to the path itself).
 */
import type { AppConfig } from '../config.js';
import { errors } from '../http/errors.js';
import type { EngineKind } from './volume.js';

/** Engines this server can create volumes on, given its configuration. */
export function configuredEngines(meta: AppConfig['meta']): EngineKind[] {
  const out: EngineKind[] = ['local'];
  if (meta.etcdEndpoints?.length) out.push('etcd');
  if (meta.tikvPdEndpoints?.length) out.push('tikv');
  return out;
}

/** Builds the volume's meta URL, or throws `engine_not_configured`. */
export function buildMetaUrl(meta: AppConfig['meta'], engine: EngineKind, prefix: string): string {
  switch (engine) {
    case 'tikv':
      if (!meta.tikvPdEndpoints?.length) throw errors.engineNotConfigured(engine);
      return `tikv://${meta.tikvPdEndpoints.join(',')}/${prefix}`;
    case 'etcd':
      if (!meta.etcdEndpoints?.length) throw errors.engineNotConfigured(engine);
      return `etcd://${meta.etcdEndpoints.join(',')}/${prefix}`;
    case 'local':
      // Not a JuiceFS scheme: the embedded store is Headroom's own (see README).
      return `local://${meta.localPath}?prefix=${prefix}`;
  }
}
