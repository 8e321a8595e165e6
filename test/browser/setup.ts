/**
 * The Headroom the browser tests load: a test app listening on a free port of 127.0.0.1, whose
 * PUBLIC_URL is that address (links and CSP name it), and the directory-quota tests' volume on
 * the local engine, opened a second time as a JuiceFS client would.
 */
import type { Server } from 'node:http';
import { expect } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { parseMetaUrl } from '../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { request } from '../support/api.js';
import { freePort } from '../support/servers.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

/** A test app with `env`, served at `base`. */
export async function serveTestApp(env: Record<string, string>): Promise<{ t: TestApp; server: Server; base: string }> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const t = await createTestApp({ ...env, PUBLIC_URL: base });
  const server = await new Promise<Server>((resolve) => {
    const s = t.http.listen(port, '127.0.0.1', () => resolve(s));
  });
  return { t, server, base };
}

/** A volume to put directory quotas on, with a second connection to its store and a fixture writer on it. */
export interface TeamVolume {
  volumeId: string;
  /** Close it before the app. */
  store: LocalEngine;
  tv: TkvVolume;
  fx: FixtureBuilder;
}

/** Creates tenant acme's volume `team` (soft 800 MB, hard 1000 MB) on the local engine (201), as the admin `auth`. */
export async function teamVolume(t: TestApp, auth: string): Promise<TeamVolume> {
  const MB = 1_000_000;
  const vol = await request(t.http)
    .post('/v1/tenants/acme/volumes')
    .set('authorization', auth)
    .send({ name: 'team', quota: { softBytes: 800 * MB, hardBytes: 1000 * MB } });
  expect(vol.status, JSON.stringify(vol.body)).toBe(201);
  const loc = parseMetaUrl(vol.body.metaUrl);
  const store = new LocalEngine(loc.file!);
  const tv = new TkvVolume(store, loc.prefix);
  return { volumeId: vol.body.id, store, tv, fx: new FixtureBuilder(store, tv.keys) };
}
