/** Meta URL parsing with each JuiceFS engine's prefix rule (juicefs-metadata.md §1). */
import { describe, expect, it } from 'vitest';
import { MetaUrlError, parseMetaUrl } from '../../../server/meta/meta-url.js';

describe('parseMetaUrl', () => {
  it('tikv: every leading slash removed, endpoints split', () => {
    const l = parseMetaUrl('tikv://pd1:2379,pd2:2379/alice');
    expect(l).toMatchObject({ engine: 'tikv', endpoints: ['pd1:2379', 'pd2:2379'] });
    expect(l.prefix.toString()).toBe('alice');
    expect(parseMetaUrl('tikv://pd:2379//a/b').prefix.toString()).toBe('a/b');
    expect(parseMetaUrl('tikv://pd:2379').prefix.length).toBe(0);
  });

  it('etcd: the leading slash is part of the prefix; credentials are parsed out', () => {
    const l = parseMetaUrl('etcd://u:p%40ss@h1:2379,h2:2379/alice?cacert=/x');
    expect(l.prefix.toString()).toBe('/alice');
    expect(l.auth).toEqual({ username: 'u', password: 'p@ss' });
    expect(l.endpoints).toEqual(['h1:2379', 'h2:2379']);
  });

  it('local: file path and prefix from the query', () => {
    expect(parseMetaUrl('local:///data/meta.db?prefix=acme-x')).toMatchObject({ engine: 'local', file: '/data/meta.db' });
  });

  it('shares one connection across volumes of the same cluster, whatever the endpoint order', () => {
    expect(parseMetaUrl('etcd://b:1,a:1/x').connection).toBe(parseMetaUrl('etcd://a:1,b:1/y').connection);
  });

  it('refuses unknown schemes, missing hosts and the 0xFD separator', () => {
    expect(() => parseMetaUrl('redis://h/1')).toThrow(MetaUrlError);
    expect(() => parseMetaUrl('etcd:///x')).toThrow(/host/);
    expect(() => parseMetaUrl('tikv://pd:2379/a%FDb')).toThrow();
    expect(() => parseMetaUrl('no-scheme')).toThrow(/scheme/);
  });
});
