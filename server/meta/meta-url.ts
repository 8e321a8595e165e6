/**
 * Parsing JuiceFS meta URLs into the engine to open and the key prefix of the volume, with the
 * prefix rules of each JuiceFS engine (juicefs-metadata.md §1):
 * - `tikv://pd1:2379,pd2:2379/<prefix>`: URL path with every leading `/` removed;
 * - `etcd://[user:pass@]h1:2379,h2:2379/<prefix>`: URL path *including* its leading `/`;
 * - `local://<file>?prefix=<prefix>`: Headroom's embedded engine (not a JuiceFS scheme), TiKV rules.
 * JuiceFS appends 0xFD to the prefix; `VolumeKeys` does that.
 */

/** Where a volume's metadata lives. */
export interface MetaLocation {
  engine: 'local' | 'etcd' | 'tikv';
  /** Identifies the engine client to share: file path, or sorted endpoint list. */
  connection: string;
  endpoints: string[];
  file?: string;
  auth?: { username: string; password: string };
  prefix: Buffer;
}

/** A meta URL Headroom cannot use. */
export class MetaUrlError extends Error {}

/** Parses a meta URL; throws {@link MetaUrlError} with a reason. */
export function parseMetaUrl(url: string): MetaLocation {
  const m = /^([a-z0-9]+):\/\/(.*)$/i.exec(url);
  if (!m) throw new MetaUrlError(`meta URL "${url}" has no scheme`);
  const scheme = m[1]!.toLowerCase();
  const rest = m[2]!;
  const q = rest.indexOf('?');
  const beforeQuery = q >= 0 ? rest.slice(0, q) : rest;
  const query = new URLSearchParams(q >= 0 ? rest.slice(q + 1) : '');
  if (scheme === 'local') {
    const prefix = query.get('prefix');
    if (!beforeQuery) throw new MetaUrlError('local meta URL needs a file path');
    if (!prefix) throw new MetaUrlError('local meta URL needs ?prefix=');
    checkPrefix(prefix);
    return { engine: 'local', connection: `local:${beforeQuery}`, endpoints: [], file: beforeQuery, prefix: Buffer.from(prefix) };
  }
  if (scheme !== 'etcd' && scheme !== 'tikv') throw new MetaUrlError(`unsupported metadata engine "${scheme}" (supported: local, etcd, tikv, redis)`);
  const slash = beforeQuery.indexOf('/');
  let authority = slash >= 0 ? beforeQuery.slice(0, slash) : beforeQuery;
  const rawPath = slash >= 0 ? beforeQuery.slice(slash) : '';
  let auth: MetaLocation['auth'];
  const at = authority.lastIndexOf('@');
  if (at >= 0) {
    const [user, pass = ''] = authority.slice(0, at).split(':');
    auth = { username: decodeURIComponent(user!), password: decodeURIComponent(pass) };
    authority = authority.slice(at + 1);
  }
  const endpoints = authority.split(',').filter(Boolean);
  if (endpoints.length === 0) throw new MetaUrlError(`${scheme} meta URL needs at least one host:port`);
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    throw new MetaUrlError(`meta URL path "${rawPath}" is not valid percent-encoding`);
  }
  const prefix = scheme === 'etcd' ? path : path.replace(/^\/+/, '');
  checkPrefix(prefix.replace(/^\//, ''));
  return { engine: scheme, connection: `${scheme}:${[...endpoints].sort().join(',')}`, endpoints, auth, prefix: Buffer.from(prefix) };
}

/** Refuses prefixes that could inject the 0xFD separator or nest inside another volume. */
function checkPrefix(p: string): void {
  if (Buffer.from(p).includes(0xfd)) throw new MetaUrlError('a volume prefix must not contain byte 0xFD');
}
