/**
 * Dry runs change nothing and tell the truth: `POST /v1/jobs/{counters|enforce}/runs?dryRun=true`
 * reports the transitions, limit writes, storage rules and notices the pass would make, while
 * every table's row count, every volume's JuiceFS setting, filer.conf and SeaweedFS stay as they
 * were; the real pass that follows then does exactly what was reported. A rule preview
 * (`POST /v1/quota-rules/preview`) judges the tier's pending and recent requests with and
 * without the rule, and saves nothing either. Real PostgreSQL, local engine, the fake SeaweedFS.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { parseMetaUrl } from '../../server/meta/meta-url.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { type FakeSeaweed, fakeSeaweedEnv, startFakeSeaweed } from '../support/seaweedfs-fake/index.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const MB = 1_000_000;

describe.skipIf(!pgAvailable())('dry runs', () => {
  let t: TestApp;
  let sw: FakeSeaweed;
  let store: LocalEngine;
  let admin: string;
  let eve: string;
  const vols: Record<string, { id: string; tv: TkvVolume }> = {};

  beforeAll(async () => {
    sw = await startFakeSeaweed();
    t = await createTestApp(fakeSeaweedEnv(sw));
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    admin = `Bearer ${t.token('admin', 'root')}`;
    eve = `Bearer ${t.token('engineer', 'eve', ['acme'])}`;
    await buildTenant(t.http, admin, { id: 'acme', tier: 'gold' });
    for (const [name, used, quota] of [
      ['full', 30 * MB, { softBytes: 10 * MB, hardBytes: 20 * MB }],
      ['soft', 20 * MB, { softBytes: 10 * MB, hardBytes: 100 * MB }],
      ['fine', 1 * MB, { softBytes: 80 * MB, hardBytes: 100 * MB }],
    ] as const) {
      const v = await buildVolume(t.http, admin, 'acme', { name, quota });
      const tv = new TkvVolume(store, parseMetaUrl(v.metaUrl).prefix);
      const fx = new FixtureBuilder(store, tv.keys);
      await fx.file(ROOT_INODE, 'data.bin', used);
      await fx.finish();
      vols[name] = { id: v.id, tv };
    }
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
    await sw?.close();
  });

  /** Everything a pass could change: every table's rows, JuiceFS settings, filer.conf, SeaweedFS writes. */
  async function snapshot() {
    const tables = (await t.database.db('pg_tables').where({ schemaname: 'public' }).pluck('tablename')) as string[];
    const rows: Record<string, number> = {};
    for (const name of tables.sort()) rows[name] = Number((await t.database.db(name).count<{ n: string }[]>({ n: '*' }))[0]!.n);
    const settings: Record<string, string> = {};
    for (const [name, v] of Object.entries(vols)) settings[name] = await v.tv.readSettingText();
    // States and readings are updated in place, so their content is compared too, not only their number.
    const states = await t.database.db('enforcement_states').orderBy('volume_id').select();
    const readings = await t.database.db('usage_readings').orderBy('volume_id').select();
    return { rows, settings, states, readings, filerConf: sw.filerConf() ?? null, seaweedWrites: sw.calls.filter((c) => c.method !== 'GET').length };
  }
  const dryRun = (job: string, auth = admin) => request(t.http).post(`/v1/jobs/${job}/runs?dryRun=true`).set('authorization', auth);

  it('counters: reports what the pass would change, changes nothing, and the real pass then does just that', async () => {
    const before = await snapshot();
    const res = await dryRun('counters');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await snapshot()).toEqual(before);

    const byVolume = Object.fromEntries(res.body.changes.map((c: { volumeId: string }) => [c.volumeId, c]));
    expect(res.body).toMatchObject({ job: 'counters', dryRun: true, counts: { volumes: 3, readFailed: 0, transitions: 2, frozen: 1, unfrozen: 0, storageRules: 1 } });
    const usedFull = (await vols.full!.tv.readCounters()).usedSpace;
    expect(byVolume[vols.full!.id]).toMatchObject({
      transition: { from: 'ok', to: 'frozen', reason: 'hard_bytes_reached' },
      limitWrite: { to: { capacity: Number(usedFull) } },
      storageRule: true,
      notices: ['quota.frozen'],
    });
    expect(byVolume[vols.soft!.id]).toMatchObject({ transition: { from: 'ok', to: 'over_soft', reason: 'soft_bytes_exceeded' }, storageRule: null, notices: ['quota.soft_exceeded'] });
    expect(byVolume[vols.fine!.id]?.transition ?? null).toBeNull();
    // Asking again gives the same answer: nothing moved in between.
    expect((await dryRun('counters')).body.changes).toEqual(res.body.changes);

    const real = await t.services.enforcement.countersPass();
    expect({ transitions: real.transitions, frozen: real.frozen, limitWrites: real.limitWrites, notices: real.notices }).toEqual({
      transitions: res.body.counts.transitions,
      frozen: res.body.counts.frozen,
      limitWrites: res.body.counts.limitWrites,
      notices: res.body.counts.notices,
    });
    expect((await vols.full!.tv.readSetting()).capacity).toBe(usedFull);
    expect(sw.filerConf()).toContain('jfs-acme-full');

    // Settled: neither pass would change anything now.
    for (const job of ['counters', 'enforce']) {
      const again = await dryRun(job);
      expect(again.body, job).toMatchObject({ job, counts: { volumes: 3, transitions: 0, limitWrites: 0, notices: 0 }, changes: [] });
    }
  });

  it('enforce: a volume released behind the pass’s back is reported as unfrozen, and stays frozen until the real pass', async () => {
    // The stored reading says the volume is below its limits now (as a counters pass would record).
    await t.database
      .db('usage_readings')
      .where({ volume_id: vols.full!.id })
      .update({ bytes: 1 * MB, read_at: new Date() });
    const before = await snapshot();
    const res = await dryRun('enforce');
    expect(res.status).toBe(200);
    expect(await snapshot()).toEqual(before);
    expect(res.body.changes).toEqual([
      expect.objectContaining({
        volumeId: vols.full!.id,
        transition: { from: 'frozen', to: 'ok', reason: 'below_release_line' },
        limitWrite: expect.objectContaining({ to: { capacity: 20 * MB, inodes: 0 } }),
        storageRule: false,
        notices: ['quota.unfrozen'],
      }),
    ]);
    const state = await request(t.http).get(`/v1/volumes/${vols.full!.id}/enforcement`).set('authorization', admin);
    expect(state.body.state).toBe('frozen');
  });

  it('is admin only, and other jobs have none: refusals write nothing', async () => {
    const before = await snapshot();
    expect((await dryRun('counters', eve)).status).toBe(403);
    const walks = await dryRun('walks');
    expect(walks.status).toBe(400);
    expect(walks.body.detail).toMatch(/no dry run/);
    expect((await dryRun('nope')).status).toBe(400); // not a job the contract names
    expect((await request(t.http).post('/v1/jobs/counters/runs?dryRun=maybe').set('authorization', admin)).status).toBe(400);
    expect(await snapshot()).toEqual(before);
  });

  describe('rule previews', () => {
    const rules: Record<string, string> = {};
    const requests: Record<string, string> = {};
    beforeAll(async () => {
      const percent = await request(t.http)
        .post('/v1/quota-rules')
        .set('authorization', admin)
        .send({ tier: 'gold', kind: 'percent_increase', params: { maxPercent: 20, cooldownDays: 0 }, position: 10 });
      rules.percent = percent.body.id;
      // Auto-approved by +20% (100 → 115 MB); another volume asks +50%, which waits for an admin.
      const a = await request(t.http)
        .post(`/v1/volumes/${vols.fine!.id}/quota-requests`)
        .set('authorization', eve)
        .send({ hardBytes: 115 * MB, reason: 'routine' });
      expect(a.body.state).toBe('approved');
      requests.routine = a.body.id;
      const b = await request(t.http)
        .post(`/v1/volumes/${vols.soft!.id}/quota-requests`)
        .set('authorization', eve)
        .send({ hardBytes: 150 * MB, reason: 'new dataset' });
      expect(b.body.state).toBe('pending');
      requests.big = b.body.id;
    });
    const preview = (body: object) => request(t.http).post('/v1/quota-rules/preview').set('authorization', admin).send(body);

    it('a wider rule would approve the pending request; nothing is saved', async () => {
      const before = await snapshot();
      const res = await preview({ rule: { tier: 'gold', kind: 'percent_increase', params: { maxPercent: 60, cooldownDays: 0 }, position: 20 } });
      expect(res.status, JSON.stringify(res.body)).toBe(200);
      expect(await snapshot()).toEqual(before);
      expect(res.body).toMatchObject({ tier: 'gold', ruleId: 'new', truncated: false, summary: { examined: 2, wouldApprove: 2, byThisRule: 1, newlyApproved: 1, noLongerApproved: 0 } });
      const big = res.body.items.find((i: { request: { id: string } }) => i.request.id === requests.big);
      expect(big).toMatchObject({ now: { approve: false, ruleId: null }, after: { approve: true, ruleId: 'new' }, byThisRule: true, changed: true });
      expect(big.after.explanation).toMatch(/\+60%/);
      // The routine request was approved by today's rule, which still comes first.
      const routine = res.body.items.find((i: { request: { id: string } }) => i.request.id === requests.routine);
      expect(routine).toMatchObject({ now: { approve: true, ruleId: rules.percent }, after: { approve: true, ruleId: rules.percent }, changed: false });
    });

    it('editing a rule, or adding a ceiling, shows what it would no longer approve', async () => {
      const before = await snapshot();
      // The routine request is judged against the limits it replaced (100 MB), as when it was filed.
      const narrower = await preview({ replaces: rules.percent, rule: { tier: 'gold', kind: 'percent_increase', params: { maxPercent: 10, cooldownDays: 0 } } });
      expect(narrower.body).toMatchObject({ ruleId: rules.percent, summary: { examined: 2, wouldApprove: 0, noLongerApproved: 1 } });
      const ceiling = await preview({ rule: { tier: 'gold', kind: 'tier_ceiling', params: { maxHardBytes: 110 * MB, maxHardInodes: null }, position: 1 } });
      expect(ceiling.body.summary).toMatchObject({ wouldApprove: 0, noLongerApproved: 1 });
      expect(ceiling.body.items.find((i: { request: { id: string } }) => i.request.id === requests.routine).after.explanation).toMatch(/above the tier ceiling/);
      // Another tier has no requests to judge.
      expect((await preview({ rule: { tier: 'silver', kind: 'percent_increase', params: { maxPercent: 60, cooldownDays: 0 } } })).body.summary.examined).toBe(0);
      // Bad params, an unknown rule and a non-admin are refused, also without writing.
      expect((await preview({ rule: { tier: 'gold', kind: 'percent_increase', params: { maxPercent: 'lots' } } })).status).toBe(400);
      expect((await preview({ replaces: 'rul_00000000000000000000000000', rule: { tier: 'gold', kind: 'percent_increase', params: { maxPercent: 5, cooldownDays: 0 } } })).status).toBe(404);
      expect(
        (
          await request(t.http)
            .post('/v1/quota-rules/preview')
            .set('authorization', eve)
            .send({ rule: { tier: 'gold', kind: 'tier_ceiling', params: { maxHardBytes: 1, maxHardInodes: null } } })
        ).status,
      ).toBe(403);
      expect(await snapshot()).toEqual(before);
      expect((await request(t.http).get(`/v1/quota-rules/${rules.percent}`).set('authorization', admin)).body.params).toEqual({ maxPercent: 20, cooldownDays: 0 });
    });
  });
});
