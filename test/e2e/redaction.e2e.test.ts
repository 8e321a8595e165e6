/**
 * Error details name internal hosts, ports and paths only to admins: a metadata engine that
 * fails with its address (a refused connection, a missing file) is a 503 naming only the kind of
 * dependency for engineers and the platform, and the full detail for admins.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DependencyUnavailableError } from '../../server/lib/deadline.js';
import type { VolumeMetadata } from '../../server/meta/volume-metadata.js';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** How `inspect` fails: a hung engine (with its address) or a lower-layer error quoting a path. */
const fault: { mode: 'none' | 'dependency' | 'file' } = { mode: 'none' };

function faulty(real: VolumeMetadata): VolumeMetadata {
  return new Proxy(real, {
    get(target, prop) {
      if (prop === 'inspect' && fault.mode === 'dependency') return async () => Promise.reject(new DependencyUnavailableError('metadata engine (etcd)', 'connect ECONNREFUSED 10.20.30.40:2379'));
      if (prop === 'inspect' && fault.mode === 'file') return async () => Promise.reject(new Error("SQLITE_CANTOPEN: unable to open database file '/srv/headroom/data/meta.db'"));
      const x = Reflect.get(target, prop) as unknown;
      return typeof x === 'function' ? (x as (...a: unknown[]) => unknown).bind(target) : x;
    },
  });
}

const internals = /10\.20\.30\.40|2379|\/srv\/headroom|meta\.db|sqlite3?:\/\//i;

describe.skipIf(!pgAvailable())('error details and internal addresses', () => {
  let t: TestApp;
  let volumeId: string;
  const auth: Record<string, string> = {};
  beforeAll(async () => {
    t = await createTestApp({}, undefined, { wrapMetadata: faulty });
    auth.admin = `Bearer ${t.token('admin', 'root')}`;
    auth.platform = `Bearer ${t.token('platform', 'ops')}`;
    auth.engineer = `Bearer ${t.token('engineer', 'eve', ['acme'])}`;
    await buildTenant(t.http, auth.admin, { id: 'acme' });
    volumeId = (await buildVolume(t.http, auth.admin, 'acme', { name: 'data' })).id;
  });
  afterAll(async () => {
    fault.mode = 'none';
    await t?.close();
  });

  const mount = (role: string) => request(t.http).get(`/v1/volumes/${volumeId}/mount`).set('authorization', auth[role]!);

  it('works for every role while the engine answers', async () => {
    fault.mode = 'none';
    for (const role of ['admin', 'platform', 'engineer']) expect((await mount(role)).status).toBe(200);
  });

  it.each(['engineer', 'platform'])('a hung engine: the %s sees the dependency kind, not its address', async (role) => {
    fault.mode = 'dependency';
    const res = await mount(role);
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 'dependency_unavailable', dependency: 'metadata engine (etcd)' });
    expect(res.body.detail).toBe('metadata engine (etcd) did not answer in time or could not be reached; try again later');
    expect(JSON.stringify(res.body)).not.toMatch(internals);
  });

  it('a hung engine: the admin sees where', async () => {
    fault.mode = 'dependency';
    const res = await mount('admin');
    expect(res.status).toBe(503);
    expect(res.body).toMatchObject({ code: 'dependency_unavailable', dependency: 'metadata engine (etcd)' });
    expect(res.body.detail).toMatch(/ECONNREFUSED 10\.20\.30\.40:2379/);
  });

  it.each(['engineer', 'platform'])('an engine error quoting a file: the %s sees neither the path nor the meta URL', async (role) => {
    fault.mode = 'file';
    const res = await mount(role);
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('metadata_unavailable');
    expect(res.body.detail).toMatch(/^the metadata engine did not answer/);
    expect(JSON.stringify(res.body)).not.toMatch(internals);
  });

  it('an engine error quoting a file: the admin sees the path', async () => {
    fault.mode = 'file';
    const res = await mount('admin');
    expect(res.status).toBe(503);
    expect(res.body.code).toBe('metadata_unavailable');
    expect(res.body.detail).toMatch(/\/srv\/headroom\/data\/meta\.db/);
  });
});
