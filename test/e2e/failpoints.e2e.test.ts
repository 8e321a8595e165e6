/**
 * Crashes at every step of a decision, in a real server process: each step runs in a server
 * whose failpoint there kills it (SIGKILL, as a power cut would: server/lib/failpoints.ts), then
 * a clean server on the same PostgreSQL and metadata completes or rolls back each one. What
 * Headroom records and what JuiceFS holds must agree after one pass.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signToken } from '../../server/auth/tokens.js';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { parseMetaUrl } from '../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../support/pg.js';
import { runJob as runJobOnce } from '../support/jobs.js';
import { freePort } from '../support/servers.js';

const root = path.resolve(import.meta.dirname, '../..');
const SECRET = 'failpoints-test-secret-0123456789abcdef';
const MB = 1_000_000;

describe.skipIf(!pgAvailable())('failpoints: a crash at any step is completed or rolled back after a restart', () => {
  let d: TestDatabase;
  let dataDir: string;
  let port: number;
  let store: LocalEngine;
  let child: ChildProcess | undefined;
  const admin = signToken({ secret: SECRET, issuer: 'headroom' }, { sub: 'root', role: 'admin' });
  const eve = signToken({ secret: SECRET, issuer: 'headroom' }, { sub: 'eve', role: 'engineer', tenants: ['acme'] });
  const vols: Record<string, { id: string; metaUrl: string }> = {};

  beforeAll(async () => {
    d = await createTestDatabase(4);
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'headroom-failpoints-'));
    port = await freePort();
  });
  afterAll(async () => {
    child?.kill('SIGKILL');
    await store?.close();
    await d?.drop();
    await rm(dataDir, { recursive: true, force: true });
  });

  /** Starts the real server; `failpoints` arms one step to kill it. */
  async function server(failpoints = ''): Promise<ChildProcess> {
    let out = '';
    const c = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', DATABASE_URL: d.url, DATA_DIR: dataDir, PORT: String(port), JWT_SECRET: SECRET, SCHEDULER_ENABLED: 'false', LOG_LEVEL: 'info', FAILPOINTS: failpoints },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    c.stdout!.on('data', (x) => (out += x));
    c.stderr!.on('data', (x) => (out += x));
    for (const deadline = Date.now() + 60_000; !out.includes('Headroom listening');) {
      if (c.exitCode !== null || Date.now() > deadline) throw new Error(`server did not start:\n${out}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    return (child = c);
  }
  const call = async (method: string, p: string, body?: object, token = admin) => {
    const res = await fetch(`http://127.0.0.1:${port}${p}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> & { id: string } };
  };
  /** Makes a call that must kill the server at its failpoint: no answer, and the process dies by SIGKILL. */
  async function crashOn(c: ChildProcess, method: string, p: string, body?: object, token = admin) {
    const exited = new Promise<NodeJS.Signals | null>((r) => c.once('exit', (_code, signal) => r(signal)));
    await expect(call(method, p, body, token)).rejects.toThrow();
    expect(await exited).toBe('SIGKILL');
    child = undefined;
  }
  const runJob = (name: string) => runJobOnce(`http://127.0.0.1:${port}`, name, `Bearer ${admin}`);
  const capacity = async (name: string) => (await new TkvVolume(store, parseMetaUrl(vols[name]!.metaUrl).prefix).readSetting()).capacity;
  const create = (name: string, hardBytes = 100 * MB) => call('POST', '/v1/tenants/acme/volumes', { name, quota: { hardBytes } });

  it('crashes at each step, then one restart and one pass agree with JuiceFS', async () => {
    // Onboarding, cut after the row is written and after the format: a repeat finishes both.
    let c = await server('onboarding.after-insert=crash');
    expect((await call('POST', '/v1/tenants', { id: 'acme', displayName: 'Acme', email: 'a@example.com' })).status).toBe(201);
    await crashOn(c, 'POST', '/v1/tenants/acme/volumes', { name: 'v1', quota: { hardBytes: 100 * MB } });
    c = await server('onboarding.after-format=crash');
    await crashOn(c, 'POST', '/v1/tenants/acme/volumes', { name: 'v2', quota: { hardBytes: 100 * MB } });

    // Freeze, unfreeze and a grant, each cut after its decision committed.
    c = await server('freeze.after-commit=crash');
    for (const n of ['v1', 'v2']) {
      const again = await create(n);
      expect([again.status, again.body.state], n).toEqual([200, 'active']);
      vols[n] = again.body as never;
    }
    for (const n of ['v3', 'v4', 'v5', 'v6', 'v7', 'v8']) vols[n] = (await create(n)).body as never;
    store = new LocalEngine(path.join(dataDir, 'meta.db'));
    const fx = new FixtureBuilder(store, new TkvVolume(store, parseMetaUrl(vols.v5!.metaUrl).prefix).keys);
    await fx.file(ROOT_INODE, 'big.bin', 120 * MB);
    await fx.finish();
    expect((await call('POST', '/v1/quota-rules', { tier: 'standard', kind: 'percent_increase', params: { maxPercent: 1000, cooldownDays: 0 } })).status).toBe(201);
    await crashOn(c, 'POST', `/v1/volumes/${vols.v3!.id}/freeze`, { reason: 'crash test' });

    c = await server('unfreeze.after-commit=crash');
    expect((await call('POST', `/v1/volumes/${vols.v4!.id}/freeze`, { reason: 'crash test' })).status).toBe(200);
    await crashOn(c, 'POST', `/v1/volumes/${vols.v4!.id}/unfreeze`, { reason: 'crash test' });

    c = await server('grant.after-commit=crash');
    expect((await runJob('counters')).state).toBe('succeeded');
    expect((await call('GET', `/v1/volumes/${vols.v5!.id}/enforcement`)).body.state).toBe('frozen');
    const clamp = await capacity('v5');
    expect(clamp).toBeGreaterThanOrEqual(BigInt(120 * MB)); // clamped to its usage, over the hard limit
    await crashOn(c, 'POST', `/v1/volumes/${vols.v5!.id}/quota-requests`, { hardBytes: 200 * MB, reason: 'more room' }, eve);

    // A temporary grant, reverted by the enforce job, cut after the revert committed.
    c = await server('revert.after-commit=crash');
    expect((await call('POST', '/v1/quota-rules', { tier: 'standard', kind: 'temporary_grant', params: { maxFactor: 2, maxDays: 1 } })).status).toBe(201);
    const grant = await call('POST', `/v1/volumes/${vols.v8!.id}/quota-requests`, { hardBytes: 150 * MB, reason: 'a burst', until: new Date(Date.now() + 1500).toISOString() }, eve);
    expect([grant.status, grant.body.state]).toEqual([201, 'approved']);
    await runJob('counters');
    expect(await capacity('v8')).toBe(BigInt(150 * MB));
    await new Promise((r) => setTimeout(r, 1600));
    const exited = new Promise<NodeJS.Signals | null>((r) => c.once('exit', (_code, signal) => r(signal)));
    expect((await call('POST', '/v1/jobs/enforce/runs')).status).toBe(202);
    expect(await exited).toBe('SIGKILL');

    // Purge, cut after the storage step and after the metadata keys went.
    c = await server('purge.after-metadata=crash');
    for (const n of ['v6', 'v7']) expect((await call('DELETE', `/v1/volumes/${vols[n]!.id}`)).status).toBe(200);
    await crashOn(c, 'POST', `/v1/volumes/${vols.v6!.id}/purge`, { confirm: 'v6' });
    c = await server('purge.after-storage=crash');
    await crashOn(c, 'POST', `/v1/volumes/${vols.v7!.id}/purge`, { confirm: 'v7' });

    // A clean restart: the committed decisions stand, one pass carries them out.
    await server();
    expect((await runJob('counters')).state).toBe('succeeded');
    const view = async (n: string) => (await call('GET', `/v1/volumes/${vols[n]!.id}/enforcement`)).body as unknown as { state: string; layerStatus: { metadata: { inSync: boolean } } };
    const v3 = await view('v3');
    expect([v3.state, v3.layerStatus.metadata.inSync]).toEqual(['frozen', true]);
    expect(await capacity('v3')).toBeLessThan(BigInt(100 * MB)); // clamped to its usage
    const v4 = await view('v4');
    expect([v4.state, v4.layerStatus.metadata.inSync]).toEqual(['ok', true]);
    expect(await capacity('v4')).toBe(BigInt(100 * MB));
    const v5 = await view('v5');
    expect([v5.state, v5.layerStatus.metadata.inSync]).toEqual(['ok', true]);
    expect(await capacity('v5')).toBe(BigInt(200 * MB));
    expect((await call('GET', `/v1/volumes/${vols.v5!.id}`)).body.quota).toMatchObject({ hardBytes: 200 * MB });
    expect((await call('GET', `/v1/volumes/${vols.v8!.id}`)).body.quota).toMatchObject({ hardBytes: 100 * MB });
    expect(await capacity('v8')).toBe(BigInt(100 * MB));
    // Purges finish by asking again; no key of theirs is left.
    for (const n of ['v6', 'v7']) {
      expect((await call('GET', `/v1/volumes/${vols[n]!.id}`)).body.state).toBe('deleting');
      expect((await call('POST', `/v1/volumes/${vols[n]!.id}/purge`, { confirm: n })).body.state).toBe('purged');
      const prefix = parseMetaUrl(vols[n]!.metaUrl).prefix;
      let left = 0;
      for await (const _ of store.scan(prefix, Buffer.concat([prefix, Buffer.from([0xff])]), { keysOnly: true })) left++;
      expect(left, n).toBe(0);
    }
    // Every decision that committed has its audit row; nothing was half-written.
    const audit = (await d.db('audit_events').select('action')).map((r: { action: string }) => r.action);
    for (const a of ['volume.activated', 'quota_request.created', 'volume.quota_changed', 'volume.purged']) expect(audit, a).toContain(a);
    expect(audit.filter((a: string) => a === 'volume.activated')).toHaveLength(8);
  }, 300_000);
});
