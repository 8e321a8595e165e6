/**
 * The META-URL a `juicefs mount` needs for a volume, built from the configured engine endpoints
 * and the volume's prefix (JuiceFS appends 0xFD to the path itself).
 */
import type { AppConfig } from '../config.js';
import { errors } from '../lib/errors.js';
import { MetaUrlError, parseMetaUrl } from '../meta/meta-url.js';
import { parseRedisUrl, redact, redisMetaUrl } from '../meta/redis/redis-url.js';
import type { EngineKind } from './volume.js';

/** Engines this server can create volumes on, given its configuration. */
export function configuredEngines(meta: AppConfig['meta']): EngineKind[] {
  const out: EngineKind[] = ['local'];
  if (meta.etcdEndpoints?.length) out.push('etcd');
  if (meta.tikvPdEndpoints?.length) out.push('tikv');
  if (meta.redisUrl) out.push('redis');
  return out;
}

/**
 * Builds the volume's meta URL, or throws `engine_not_configured`. Redis volumes are a database
 * number (`redisDb`, from the pool), not a key prefix; their URL carries no password.
 */
export function buildMetaUrl(meta: AppConfig['meta'], engine: EngineKind, prefix: string, redisDb = 0): string {
  switch (engine) {
    case 'redis':
      if (!meta.redisUrl) throw errors.engineNotConfigured(engine);
      return redisMetaUrl(parseRedisUrl(meta.redisUrl, { requireDb: false }), redisDb);
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

/** Prefixes Headroom records in its ledger (the same rule as for the prefixes it allocates). */
const LEDGER_PREFIX = /^[a-z0-9][a-z0-9-]{0,62}$/;

/**
 * Checks a meta URL given for adoption: a known engine on a cluster (or local file) this server
 * is configured for, with a prefix the ledger can hold. Returns the engine and ledger prefix.
 */
export function adoptionTarget(meta: AppConfig['meta'], metaUrl: string): { engine: EngineKind; prefix: string } {
  let loc;
  try {
    loc = parseMetaUrl(metaUrl);
  } catch (err) {
    throw errors.invalidMetaUrl(metaUrl, (err as MetaUrlError).message);
  }
  const configured = loc.engine === 'etcd' ? meta.etcdEndpoints : loc.engine === 'tikv' ? meta.tikvPdEndpoints : undefined;
  if (loc.engine === 'local' && loc.file !== meta.localPath) {
    throw errors.invalidMetaUrl(metaUrl, `local volumes can only be adopted from this server's own store (${meta.localPath})`);
  }
  if (loc.engine !== 'local' && !loc.endpoints.some((e) => configured?.includes(e))) {
    throw errors.invalidMetaUrl(metaUrl, `no endpoint of this URL is a configured ${loc.engine} endpoint`);
  }
  const prefix = loc.prefix.toString('utf8').replace(/^\//, '');
  if (!LEDGER_PREFIX.test(prefix)) {
    throw errors.invalidMetaUrl(metaUrl, `prefix "${prefix}" is outside what Headroom manages (lower-case letters, digits and dashes, at most 63)`);
  }
  return { engine: loc.engine, prefix };
}

/**
 * Checks a Redis meta URL given for adoption: it must be on the configured Redis server (whose
 * credentials Headroom uses). Returns the server, the database and the URL to store (no password).
 */
export function redisAdoptionTarget(meta: AppConfig['meta'], metaUrl: string): { server: string; db: number; metaUrl: string } {
  let loc;
  try {
    loc = parseRedisUrl(metaUrl);
  } catch (err) {
    throw errors.invalidMetaUrl(redact(metaUrl), (err as MetaUrlError).message);
  }
  const configured = meta.redisUrl ? parseRedisUrl(meta.redisUrl, { requireDb: false }) : undefined;
  if (!configured || configured.server !== loc.server) {
    throw errors.invalidMetaUrl(redact(metaUrl), `only volumes on the configured Redis server (REDIS_META_URL${configured ? `: ${configured.server}` : ', unset'}) can be adopted`);
  }
  return { server: loc.server, db: loc.db, metaUrl: redisMetaUrl(loc, loc.db) };
}
