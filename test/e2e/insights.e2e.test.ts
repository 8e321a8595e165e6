/**
 * Insights end to end: the demo volume built on a real engine (local SQLite always, a private
 * Redis when redis-server is installed), walked through the API, its findings served with exact
 * reclaimable bytes, `du` figures per hard-linked directory, two walks compared; admins tune
 * rules (audited), others may not; and the knex store keeps the store contract.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { KnexInsightStore } from '../../server/insights/knex-insight-store.js';
import { RedisFixtureBuilder } from '../../server/meta/redis/fixture.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import type { TreeFixture } from '../../server/meta/tree-fixture.js';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { redisServerAvailable, startRedisServer, type TestRedisServer } from '../support/redis.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { GiB, buildDemoTree } from '../unit/insights/demo-tree.js';
import { insightStoreContract } from '../unit/insights/insight-store.contract.js';

const withRedis = redisServerAvailable();

describe.skipIf(!pgAvailable())('insights over the API', () => {
  let t: TestApp;
  let redis: TestRedisServer | undefined;
  let store: LocalEngine;
  let admin: string;
  let engineer: string;
  beforeAll(async () => {
    if (withRedis) redis = await startRedisServer(16);
    t = await createTestApp(redis ? { REDIS_META_URL: redis.url, REDIS_META_DBS: '1-3' } : {});
    admin = `Bearer ${t.token('admin', 'root')}`;
    engineer = `Bearer ${t.token('engineer', 'eve', ['acme'])}`;
    await buildTenant(t.http, admin, { id: 'acme', language: 'zh' });
    await buildTenant(t.http, admin, { id: 'other' });
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
    await redis?.stop();
  });

  const walk = async (volumeId: string) => {
    const started = await request(t.http).post(`/v1/volumes/${volumeId}/walks`).set('authorization', admin);
    expect(started.status).toBe(202);
    for (let i = 0; i < 400; i++) {
      const r = await request(t.http).get(String(started.headers.location)).set('authorization', admin);
      if (r.body.state === 'succeeded') return r.body;
      if (r.body.state === 'failed') throw new Error(r.body.error);
      await new Promise((res) => setTimeout(res, 50));
    }
    throw new Error('walk did not finish');
  };
  const insights = (volumeId: string, auth = engineer) => request(t.http).get(`/v1/volumes/${volumeId}/insights`).set('authorization', auth);

  const engines: Array<[string, () => Promise<{ id: string; fx: TreeFixture<unknown> }>]> = [
    [
      'local',
      async () => {
        const vol = await buildVolume(t.http, admin, 'acme', { name: `demo-${Math.random().toString(36).slice(2, 8)}` });
        return { id: vol.id, fx: new FixtureBuilder(store, new TkvVolume(store, Buffer.from(String(vol.prefix))).keys) };
      },
    ],
  ];
  if (withRedis) {
    engines.push([
      'redis',
      async () => {
        const vol = await buildVolume(t.http, admin, 'acme', { name: `demo-${Math.random().toString(36).slice(2, 8)}`, engine: 'redis' });
        return { id: vol.id, fx: new RedisFixtureBuilder(redis!.client(Number(vol.metaUrl.split('/').pop()))) };
      },
    ]);
  }

  for (const [engine, make] of engines) {
    it(`finds what eats a ${engine} volume, with exact reclaimable bytes and du figures, and compares two walks`, async () => {
      const { id, fx } = await make();
      expect((await insights(id)).body).toMatchObject({ walk: null, findings: [], comparison: null, history: [] });
      const { expected } = await buildDemoTree(fx, new Date());
      await walk(id);
      const first = await insights(id);
      expect(first.status).toBe(200);
      expect(first.body.language).toBe('zh');
      const by = (rule: string, kind?: string) => first.body.findings.filter((f: { rule: string; details: { kind?: string } }) => f.rule === rule && (!kind || f.details.kind === kind));
      expect(by('checkpoint-series', 'files')[0]).toMatchObject({ bytes: expected.checkpointFiles.bytes, reclaimableBytes: expected.checkpointFiles.reclaimable });
      expect(by('checkpoint-series', 'directories')[0]).toMatchObject({ bytes: expected.checkpointDirs.bytes, reclaimableBytes: expected.checkpointDirs.reclaimable });
      expect(by('python-env')[0]).toMatchObject({ paths: ['/home/u/miniconda3'], reclaimableBytes: expected.condaEnv });
      expect(by('package-cache')[0]).toMatchObject({ reclaimableBytes: expected.packageCaches });
      expect(by('framework-cache')[0]).toMatchObject({ reclaimableBytes: expected.hfCache });
      expect(by('pycache')[0]).toMatchObject({ reclaimableBytes: expected.pycache });
      expect(by('core-dumps')[0]).toMatchObject({ reclaimableBytes: expected.core });
      expect(by('trash')[0]).toMatchObject({ bytes: expected.trash.bytes, details: { days: expected.trash.days } });
      expect(by('trash')[0].suggestion).toContain('自动清除');
      expect(by('trash')[0].title).toContain('回收站');
      const rs = first.body.findings.map((f: { reclaimableBytes: number }) => f.reclaimableBytes);
      expect([...rs].sort((a, b) => b - a)).toEqual(rs);
      // du per directory: the hard-linked 400 MiB file counts in /shared, /shared/a and /shared/b.
      const dirs = new Map(first.body.directories.map((d: { path: string; bytes: number }) => [d.path, d]));
      expect(dirs.get('/shared')).toMatchObject({ bytes: expected.linked.shared });
      expect(dirs.get('/shared/a')).toMatchObject({ bytes: expected.linked.a });
      expect(dirs.get('/shared/b')).toMatchObject({ bytes: expected.linked.b });
      expect(first.body.walk.largestFiles[0]).toMatchObject({ path: '/home/u/.cache/huggingface/hub/model.safetensors', bytes: 2 * GiB });
      expect(first.body.walk.staleDirectories.map((d: { path: string }) => d.path)).toEqual(['/home/u/miniconda3', '/shared', '/jobs']);
      expect(first.body.comparison).toBeNull();

      // Two more checkpoints, walk again: the comparison names the checkpoints folder.
      const ckpt = (await request(t.http).get(`/v1/volumes/${id}/directories?depth=3&limit=500`).set('authorization', admin)).body.items.find(
        (d: { path: string }) => d.path === '/runs/exp42/checkpoints',
      );
      for (const step of [6000, 7000]) await fx.file(BigInt(ckpt.inode), `ckpt-${step}.pt`, GiB);
      await fx.finish();
      await walk(id);
      const second = (await insights(id)).body;
      expect(second.comparison).toMatchObject({ bytesDelta: 2 * GiB, filesDelta: 2, growth: [{ path: '/runs/exp42/checkpoints', bytesDelta: 2 * GiB }] });
      expect(second.comparison.summary).toBe('自上次扫描以来增长了 2.15 GB，其中 2.15 GB 在 /runs/exp42/checkpoints。');
      expect(second.history).toHaveLength(2);
      expect(second.history[0].walkId).toBe(second.walk.walkId);
      // Tenant scoping: another tenant's engineer does not see the volume.
      expect((await insights(id, `Bearer ${t.token('engineer', 'mallory', ['other'])}`)).status).toBe(404);
    });
  }

  it('lets admins tune rules (audited, applied from the next walk); others may not; junk writes nothing', async () => {
    const list = await request(t.http)
      .get('/v1/insights/rules')
      .set('authorization', `Bearer ${t.token('platform', 'p')}`);
    expect(list.status).toBe(200);
    expect(list.body.items.find((r: { rule: string }) => r.rule === 'checkpoint-series')).toEqual({ rule: 'checkpoint-series', enabled: true, params: { minBytes: 100 << 20, keep: 3 } });
    expect((await request(t.http).patch('/v1/insights/rules/trash').set('authorization', engineer).send({ enabled: false })).status).toBe(403);
    expect(
      (
        await request(t.http)
          .patch('/v1/insights/rules/trash')
          .set('authorization', admin)
          .send({ params: { keep: 2 } })
      ).status,
    ).toBe(400);
    expect((await request(t.http).patch('/v1/insights/rules/nope').set('authorization', admin).send({ enabled: false })).status).toBe(400);
    expect(await t.database.db('insight_rule_settings').count({ n: '*' })).toEqual([{ n: 0n }]);
    const ok = await request(t.http)
      .patch('/v1/insights/rules/checkpoint-series')
      .set('authorization', admin)
      .send({ params: { keep: 1 } });
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ rule: 'checkpoint-series', enabled: true, params: { minBytes: 100 << 20, keep: 1 } });
    const again = await request(t.http)
      .patch('/v1/insights/rules/checkpoint-series')
      .set('authorization', admin)
      .send({ params: { keep: 1 } });
    expect(again.status).toBe(200);
    const audit = await request(t.http).get('/v1/audit?entityType=insight_rule').set('authorization', admin);
    expect(audit.body.items).toHaveLength(1); // the repeat changed nothing and wrote nothing
    expect(audit.body.items[0]).toMatchObject({ action: 'insight_rule.updated', entityId: 'checkpoint-series', actor: 'root', after: { params: { keep: 1 } } });
    // The next walk keeps one checkpoint.
    const vol = await buildVolume(t.http, admin, 'acme', { name: 'tuned' });
    const { expected } = await buildDemoTree(new FixtureBuilder(store, new TkvVolume(store, Buffer.from(String(vol.prefix))).keys), new Date());
    await walk(vol.id);
    const f = (await insights(vol.id)).body.findings.find((x: { rule: string; details: { kind: string } }) => x.rule === 'checkpoint-series' && x.details.kind === 'files');
    expect(f.reclaimableBytes).toBe(expected.checkpointFiles.bytes - GiB);
    await request(t.http)
      .patch('/v1/insights/rules/checkpoint-series')
      .set('authorization', admin)
      .send({ params: { keep: 3 } });
  });
});

describe.skipIf(!pgAvailable())('knex insight store', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
    await buildTenant(t.http, `Bearer ${t.token('admin', 'root')}`, { id: 'acme' });
  });
  afterAll(() => t?.close());
  let n = 0;
  insightStoreContract('knex', async () => ({
    store: new KnexInsightStore(t.database.db),
    prepare: async () => {
      const vol = await buildVolume(t.http, `Bearer ${t.token('admin', 'root')}`, 'acme', { name: `c${++n}` });
      const walkIds: [string, string] = [`wlk_${'a'.repeat(25)}${n}`, `wlk_${'b'.repeat(25)}${n}`];
      for (const id of walkIds) await t.database.db('walks').insert({ id, volume_id: vol.id, tenant_id: 'acme', state: 'succeeded', requested_by: 'test' });
      return { tenantId: 'acme', volumeId: vol.id, walkIds };
    },
  }));
});
