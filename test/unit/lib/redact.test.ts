/** What non-admins may read in an error detail. */
import { describe, expect, it } from 'vitest';
import { errors } from '../../../server/lib/errors.js';
import { forNonAdmin, redactInternals } from '../../../server/lib/redact.js';

describe('redactInternals', () => {
  it.each([
    ['connect ECONNREFUSED 10.0.3.7:2379', 'connect ECONNREFUSED <address>'],
    ['could not read redis://:pw@redis.internal:6379/4: timeout', 'could not read <url>: timeout'],
    ['tikv pd-0.pd.svc.cluster.local:2379 is down', 'tikv <address> is down'],
    ['dial [fd00::12]:20160 failed', 'dial <address> failed'],
    ["ENOENT: no such file or directory, open '/var/lib/headroom/meta.db'", "ENOENT: no such file or directory, open '<path>'"],
    ['all 15 databases of the Redis pool on localhost:6379 are taken', 'all 15 databases of the Redis pool on <address> are taken'],
  ])('%s', (input, out) => {
    expect(redactInternals(input)).toBe(out);
  });

  it.each(['no route GET /v1/volumes/vol_1/nothing', 'body.quota.hardBytes must be >= 0', 'grace ends 2026-12-01T10:30:00Z', 'volume "vol_01j" already uses 150 MB'])(
    'leaves what callers need: %s',
    (text) => {
      expect(redactInternals(text)).toBe(text);
    },
  );
});

describe('forNonAdmin', () => {
  it('names only the kind of a dependency that failed', () => {
    const e = forNonAdmin(errors.dependencyUnavailable('metadata engine (etcd)', 'metadata engine (etcd): connect ECONNREFUSED 10.0.3.7:2379'));
    expect(e).toMatchObject({ status: 503, code: 'dependency_unavailable', extra: { dependency: 'metadata engine (etcd)' } });
    expect(e.message).toBe('metadata engine (etcd) did not answer in time or could not be reached; try again later');
  });

  it('gives a metadata_unavailable a generic detail', () => {
    const e = forNonAdmin(errors.metadataUnavailable('could not read sqlite3:///srv/headroom/meta.db: SQLITE_CANTOPEN'));
    expect(e.status).toBe(503);
    expect(e.message).not.toMatch(/srv|sqlite/);
    expect(e.message).toMatch(/^the metadata engine /);
  });

  it('redacts a 4xx detail and keeps the same error when there is nothing to hide', () => {
    expect(forNonAdmin(errors.redisPoolExhausted('10.1.1.1:6379', 15)).message).toMatch(/Redis pool on <address> are taken/);
    const plain = errors.volumeNotFound('vol_x');
    expect(forNonAdmin(plain)).toBe(plain);
  });
});
