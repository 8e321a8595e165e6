/**
 * Redis meta URLs as JuiceFS takes them: `redis://[[user]:password@]host:port/<db>` and
 * `rediss://` for TLS. The database number is the volume: JuiceFS keeps one volume per database.
 * Headroom stores these URLs without the password; credentials come from its configuration.
 */
import { MetaUrlError } from '../meta-url.js';

/** Where a Redis volume lives. */
export interface RedisLocation {
  tls: boolean;
  host: string;
  port: number;
  db: number;
  username?: string;
  password?: string;
  /** `host:port`: identifies the server (credentials and clients are per server). */
  server: string;
}

/** True for the schemes this module handles. */
export function isRedisUrl(url: string): boolean {
  return /^rediss?:\/\//i.test(url);
}

/** Parses a Redis meta URL; throws {@link MetaUrlError} with a reason. */
export function parseRedisUrl(url: string, opts: { requireDb?: boolean } = {}): RedisLocation {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new MetaUrlError(`"${redact(url)}" is not a valid URL`);
  }
  const tls = u.protocol === 'rediss:';
  if (!tls && u.protocol !== 'redis:') throw new MetaUrlError(`"${u.protocol}" is not a Redis scheme`);
  if (!u.hostname) throw new MetaUrlError('a Redis meta URL needs a host');
  const path = u.pathname.replace(/^\/+/, '');
  if (!path && opts.requireDb !== false) throw new MetaUrlError('a Redis meta URL names its database: redis://host:port/<db>');
  if (path && !/^\d{1,6}$/.test(path)) throw new MetaUrlError(`"${path}" is not a database number (Redis Cluster hash tags are not supported by Headroom yet)`);
  const port = Number(u.port || 6379);
  return {
    tls,
    host: u.hostname,
    port,
    db: path ? Number(path) : 0,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    server: `${u.hostname}:${port}`,
  };
}

/** The meta URL of database `db` on a server, without credentials (safe to store and show). */
export function redisMetaUrl(loc: Pick<RedisLocation, 'tls' | 'host' | 'port'>, db: number): string {
  return `${loc.tls ? 'rediss' : 'redis'}://${loc.host}:${loc.port}/${db}`;
}

/** The URL with any password replaced by `***`, for messages and logs. */
export function redact(url: string): string {
  return url.replace(/(\/\/[^/@:]*:)[^@/]*@/, '$1***@');
}
