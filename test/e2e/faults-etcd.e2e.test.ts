/**
 * Faults on a real etcd: the metadata engine is killed (SIGKILL, as a crash) in the middle of
 * operation and started again on the same data. While it is down, API calls that need it answer
 * 503 dependency_unavailable within their deadline and change nothing; a pass reads every
 * volume as unknown and decides nothing (a frozen volume stays clamped). After the restart, one
 * pass brings Headroom's record and etcd's setting back into agreement.
 */
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EtcdEngine } from '../../server/engines/etcd/etcd-engine.js';
import { parseMetaUrl } from '../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { etcdAvailable, startEtcd, type TestEtcd } from '../support/etcd.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const MB = 1_000_000;

describe.skipIf(!pgAvailable() || !etcdAvailable())('etcd killed and restarted', () => {
  let etcd: TestEtcd;
  let t: TestApp;
  let admin: string;
  let engine: EtcdEngine;
  const vols: Record<string, { id: string; tv: TkvVolume }> = {};

  beforeAll(async () => {
    etcd = await startEtcd();
    engine = new EtcdEngine({ endpoints: [etcd.endpoint] });
    t = await createTestApp({ META_ENGINE: 'etcd', ETCD_ENDPOINTS: etcd.endpoint, META_TIMEOUT_MS: '1000' });
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme', email: 'acme@example.com' });
    for (const [name, size] of [
      ['full', 30 * MB],
      ['fine', 1 * MB],
    ] as const) {
      const v = await buildVolume(t.http, admin, 'acme', { name, quota: { softBytes: 10 * MB, hardBytes: 20 * MB } });
      const tv = new TkvVolume(engine, parseMetaUrl(v.metaUrl).prefix);
      const fx = new FixtureBuilder(engine, tv.keys);
      await fx.file(ROOT_INODE, 'data.bin', size);
      await fx.finish();
      vols[name] = { id: v.id, tv };
    }
    await t.services.enforcement.countersPass();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await engine?.close();
    await etcd?.stop();
  });

  const view = async (id: string) => (await request(t.http).get(`/v1/volumes/${id}/enforcement`).set('authorization', admin)).body;

  it('down: 503 within the deadline, nothing changes, passes decide nothing; up: one pass agrees again', async () => {
    const before = await view(vols.full!.id);
    expect(before.state).toBe('frozen');
    const clamp = (await vols.full!.tv.readSetting()).capacity;
    expect(clamp).toBeGreaterThan(0n);
    const auditBefore = await t.database.db('audit_events').count({ n: '*' }).first();

    await etcd.kill();
    for (const [method, path, body] of [
      ['get', `/v1/volumes/${vols.fine!.id}/usage`, undefined],
      ['post', `/v1/volumes/${vols.fine!.id}/freeze`, { reason: 'while etcd is down' }],
      ['post', `/v1/volumes/${vols.full!.id}/unfreeze`, { reason: 'while etcd is down' }],
    ] as const) {
      const t0 = Date.now();
      const r = await (method === 'get' ? request(t.http).get(path) : request(t.http).post(path).send(body)).set('authorization', admin);
      expect(Date.now() - t0, path).toBeLessThan(2500);
      // Each needs etcd's answer first (usage, or the usage a decision is made on) and says so.
      expect({ status: r.status, ...r.body }, path).toMatchObject({ status: 503, code: 'dependency_unavailable', dependency: 'metadata engine (etcd)' });
    }
    // The refused calls wrote nothing (the pass below may audit that the volumes became unknown).
    expect(await t.database.db('audit_events').count({ n: '*' }).first()).toEqual(auditBefore);
    const pass = await t.services.enforcement.countersPass();
    expect(pass).toMatchObject({ readFailed: 2, transitions: 0 });
    const during = await view(vols.full!.id);
    expect(during).toMatchObject({ state: 'frozen', unknown: { reason: expect.any(String) } });
    expect((await view(vols.fine!.id)).state).toBe('ok');

    await etcd.restart();
    // The same client reconnects by itself; the first pass after the restart reads, decides
    // nothing new, and finds the setting as desired.
    let after = await t.services.enforcement.countersPass();
    for (let i = 0; i < 10 && after.readFailed > 0; i++) {
      await new Promise((r) => setTimeout(r, 500));
      after = await t.services.enforcement.countersPass();
    }
    expect(after).toMatchObject({ readFailed: 0, transitions: 0, drifts: 0 });
    const healed = await view(vols.full!.id);
    expect(healed).toMatchObject({ state: 'frozen', unknown: null });
    expect(healed.layerStatus.metadata).toMatchObject({ inSync: true });
    expect((await vols.full!.tv.readSetting()).capacity).toBe(clamp);
  }, 90_000);
});
