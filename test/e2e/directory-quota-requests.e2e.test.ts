/**
 * Quota requests for directory quotas, on real PostgreSQL and the local engine, through the same
 * service, rules, admin queue and revert as volume requests: a rule grants at once and the
 * JuiceFS record (read back raw) changes after commit; a request waits and an admin approves it
 * with other numbers; a temporary grant reverts; only the quota's owner (or an admin) may ask;
 * one pending request per directory quota; refusals write nothing; volumes without native
 * quotas take soft asks and refuse hard ones.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { decodeDirQuota, encodeDirQuota } from '../../server/meta/tkv/records.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const MiB = 1 << 20;
const DAY = 86_400_000;

describe.skipIf(!pgAvailable())('directory quota requests', () => {
  let t: TestApp;
  let admin: string;
  let alice: string;
  let bob: string;
  let store: LocalEngine; // a second connection to the app's local store, as a JuiceFS client would have
  let vol: { id: string; prefix: string };
  let tv: TkvVolume;
  const ino: Record<string, bigint> = {};
  const q: Record<string, string> = {};
  const rule: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestApp({ PUBLIC_URL: 'https://h.example.com' });
    admin = `Bearer ${t.token('admin', 'root')}`;
    alice = `Bearer ${t.token('engineer', 'alice', ['acme'])}`;
    bob = `Bearer ${t.token('engineer', 'bob', ['acme'])}`;
    await buildTenant(t.http, admin, { id: 'acme', tier: 'gold' });
    for (const [name, body] of [
      ['ceiling', { tier: 'gold', kind: 'tier_ceiling', params: { maxHardBytes: 100 * MiB, maxHardInodes: null }, position: 1 }],
      ['percent', { tier: 'gold', kind: 'percent_increase', params: { maxPercent: 20, cooldownDays: 30 }, position: 2 }],
      ['burst', { tier: 'gold', kind: 'temporary_grant', params: { maxFactor: 2, maxDays: 14 }, position: 3 }],
    ] as const) {
      const res = await request(t.http).post('/v1/quota-rules').set('authorization', admin).send(body);
      expect(res.status).toBe(201);
      rule[name] = res.body.id;
    }
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    vol = (await buildVolume(t.http, admin, 'acme', { name: 'team' })) as unknown as { id: string; prefix: string };
    tv = new TkvVolume(store, Buffer.from(vol.prefix));
    const fx = new FixtureBuilder(store, tv.keys);
    const team = await fx.mkdir(ROOT_INODE, 'team');
    for (const who of ['alice', 'bob', 'carol', 'dave', 'erin']) ino[who] = await fx.mkdir(team, who);
    await fx.file(ino.alice!, 'a1', 100_000); // 102,400 counted
    await fx.file(ino.erin!, 'e1', 200_000); // 200,704 counted
    await fx.finish();
    for (const [who, owner] of [
      ['alice', 'alice'],
      ['bob', 'bob'],
      ['carol', null],
    ] as const) {
      const res = await api()
        .post(base())
        .set('authorization', admin)
        .send({ path: `/team/${who}`, softBytes: MiB / 2, hardBytes: MiB, hardInodes: 100, ...(owner ? { ownerSub: owner } : {}) });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      q[who] = res.body.id;
    }
    // dave's quota was set with `juicefs quota set`: discovered, unmanaged.
    await store.txn(async (x) => x.put(tv.keys.dirQuota(ino.dave!), encodeDirQuota({ maxSpace: BigInt(MiB), maxInodes: 10n, usedSpace: 0n, usedInodes: 0n })));
    const found = await api().post(`${base()}/discover`).set('authorization', admin);
    expect(found.status).toBe(200);
    q.dave = found.body.items.find((i: { path: string }) => i.path === '/team/dave').id;
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
  });

  const api = () => request(t.http);
  const base = () => `/v1/volumes/${vol.id}/directory-quotas`;
  const ask = (who: string, body: object, auth = alice, suffix = '') => api().post(`${base()}/${q[who]}/requests${suffix}`).set('authorization', auth).send(body);
  const raw = async (inode: bigint) => decodeDirQuota((await store.get(tv.keys.dirQuota(inode)))!, 'x');
  const row = async (who: string) => (await t.database.db('directory_quotas').where({ id: q[who] }).first()) as Record<string, unknown>;
  const notices = async (type: string) =>
    (await t.database.db('notifications').where({ volume_id: vol.id, type }).select('data')).map(
      (r: { data: unknown }) => (typeof r.data === 'string' ? JSON.parse(r.data) : r.data) as Record<string, unknown>,
    );
  const counts = async () => {
    const n = async (table: string) => Number((await t.database.db(table).count({ n: '*' }))[0]!.n);
    return {
      requests: await n('quota_requests'),
      audits: await n('audit_events'),
      notices: await n('notifications'),
      quotas: await t.database.db('directory_quotas').orderBy('id').select('id', 'generation', 'hard_bytes', 'soft_bytes'),
    };
  };

  it('previews an owner ask without writing anything', async () => {
    const before = await counts();
    const res = await ask('alice', { hardBytes: Math.floor(1.1 * MiB), reason: 'checkpoints' }, alice, '/preview');
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ wouldApprove: true, ruleId: rule.percent, explanation: expect.stringContaining(rule.percent!) });
    const big = await ask('alice', { hardBytes: 3 * MiB, reason: 'much more' }, alice, '/preview');
    expect(big.body).toMatchObject({ wouldApprove: false, ruleId: null });
    expect(await counts()).toEqual(before);
  });

  it("grants an owner's routine ask by rule at once, and writes the JuiceFS record after commit", async () => {
    // Spy on the record write: what another connection sees then is what has committed.
    const meta = (t.services.dirQuotaApplier as unknown as { metadata: { setDirQuota: (...a: unknown[]) => Promise<unknown> } }).metadata;
    const seen: Array<{ hard: unknown; approved: number }> = [];
    const real = meta.setDirQuota;
    meta.setDirQuota = async (...a: unknown[]) => {
      const r = await t.database.db('directory_quotas').where({ id: q.alice }).first('hard_bytes');
      const approved = Number((await t.database.db('quota_requests').where({ directory_quota_id: q.alice, state: 'approved' }).count({ n: '*' }))[0]!.n);
      seen.push({ hard: String(r.hard_bytes), approved });
      return real.apply(meta, a);
    };
    const want = Math.floor(1.1 * MiB);
    let res;
    try {
      res = await ask('alice', { hardBytes: want, reason: 'checkpoints' });
    } finally {
      meta.setDirQuota = real;
    }
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.headers.location).toBe(`/v1/quota-requests/${res.body.id}`);
    expect(res.body).toMatchObject({
      state: 'approved',
      ruleId: rule.percent,
      volumeId: vol.id,
      directoryQuotaId: q.alice,
      path: '/team/alice',
      requestedBy: 'alice',
      granted: { hardBytes: want },
      previous: { hardBytes: MiB },
    });
    expect(seen).toEqual([{ hard: String(want), approved: 1 }]);
    expect(await raw(ino.alice!)).toMatchObject({ maxSpace: BigInt(want), maxInodes: 100n, usedSpace: 102400n });
    expect(await row('alice')).toMatchObject({ hard_bytes: BigInt(want), soft_bytes: BigInt(MiB / 2), generation: 2n, applied_generation: 2n });
    const actions = (
      await t.database
        .db('audit_events')
        .where({ tenant_id: 'acme' })
        .whereIn('action', ['quota_request.created', 'quota_request.auto_approved', 'directory_quota.updated'])
        .orderBy('id')
        .select('action')
    ).map((r: { action: string }) => r.action);
    expect(actions).toEqual(['quota_request.created', 'directory_quota.updated', 'quota_request.auto_approved']);
    const [n] = await notices('quota.request_approved');
    expect(n).toMatchObject({ detail: '/team/alice', limits: { hardBytes: String(want) }, usage: { bytes: '102400' }, request: { id: res.body.id } });
  });

  it('keeps one pending request per directory quota, and an admin approves it with other numbers', async () => {
    // The percent rule allows one automatic increase in 30 days: this one waits.
    const first = await ask('alice', { hardBytes: 3 * MiB, reason: 'new dataset' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ state: 'pending', directoryQuotaId: q.alice, explanation: expect.stringContaining('30 days') });
    const [pending] = await notices('admin.request_pending');
    expect(pending).toMatchObject({ detail: '/team/alice', request: { id: first.body.id } });
    const before = await counts();
    const second = await ask('alice', { hardBytes: 4 * MiB, reason: 'even more' });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'request_pending', pendingRequestId: first.body.id });
    expect((await ask('alice', { hardBytes: 4 * MiB, reason: 'even more' }, alice, '/preview')).status).toBe(409);
    expect(await counts()).toEqual(before);
    // Another directory of the same volume is not blocked by it.
    expect((await ask('bob', { softBytes: Math.floor(0.55 * MiB), reason: 'a bit more' }, bob)).body.state).toBe('approved');

    const queue = await api().get('/v1/quota-requests?state=pending').set('authorization', admin);
    expect(queue.body.items.map((r: { id: string; path: string | null }) => [r.id, r.path])).toEqual([[first.body.id, '/team/alice']]);
    const ok = await api()
      .post(`/v1/quota-requests/${first.body.id}/approve`)
      .set('authorization', admin)
      .send({ hardBytes: 2 * MiB, comment: 'two is enough' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body).toMatchObject({ state: 'approved', decidedBy: 'root', granted: { hardBytes: 2 * MiB }, directoryQuotaId: q.alice });
    expect(await raw(ino.alice!)).toMatchObject({ maxSpace: BigInt(2 * MiB) });
    expect((await row('alice')).hard_bytes).toBe(BigInt(2 * MiB));
    expect((await api().post(`/v1/quota-requests/${first.body.id}/approve`).set('authorization', admin).send({})).status).toBe(409);
  });

  it('reverts a temporary grant at its end through the same revert as volumes', async () => {
    const until = new Date(Date.now() + 3 * DAY);
    const res = await ask('bob', { hardBytes: Math.floor(1.5 * MiB), reason: 'a burst', until: until.toISOString() }, bob);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ state: 'approved', ruleId: rule.burst, until: until.toISOString() });
    expect(await raw(ino.bob!)).toMatchObject({ maxSpace: BigInt(Math.floor(1.5 * MiB)) });
    expect(await t.services.requests.revertDue(new Date(until.getTime() - 1000))).toBe(0);
    expect(await t.services.requests.revertDue(new Date(until.getTime() + 1000))).toBe(1);
    expect(await raw(ino.bob!)).toMatchObject({ maxSpace: BigInt(MiB) });
    // The soft limit granted before (permanently) stays.
    expect(await row('bob')).toMatchObject({ hard_bytes: BigInt(MiB), soft_bytes: BigInt(Math.floor(0.55 * MiB)) });
    const got = await api().get(`/v1/quota-requests/${res.body.id}`).set('authorization', bob);
    expect(got.body.revertedAt).not.toBeNull();
    const [n] = await notices('quota.grant_reverted');
    expect(n).toMatchObject({ detail: '/team/bob', request: { granted: { hardBytes: String(MiB) } } });
    expect(await t.services.requests.revertDue(new Date(until.getTime() + 5000))).toBe(0); // once
  });

  it('denies and cancels directory requests through the same routes, freeing the slot', async () => {
    const asked = await ask('bob', { softBytes: Math.floor(0.9 * MiB), reason: 'a lot' }, bob);
    expect(asked.body.state).toBe('pending');
    const no = await api().post(`/v1/quota-requests/${asked.body.id}/deny`).set('authorization', admin).send({ reason: 'no budget' });
    expect(no.status).toBe(200);
    expect(no.body).toMatchObject({ state: 'denied', comment: 'no budget', directoryQuotaId: q.bob });
    const [n] = await notices('quota.request_denied');
    expect(n).toMatchObject({ detail: '/team/bob', request: { comment: 'no budget' } });
    expect((await row('bob')).soft_bytes).toBe(BigInt(Math.floor(0.55 * MiB)));
    const again = await ask('bob', { softBytes: Math.floor(0.9 * MiB), reason: 'a lot, again' }, bob);
    expect(again.body.state).toBe('pending');
    expect((await api().post(`/v1/quota-requests/${again.body.id}/cancel`).set('authorization', bob)).body.state).toBe('cancelled');
  });

  it("lets only the quota's owner (or an admin) ask: 404 for anyone else", async () => {
    const before = await counts();
    const mallory = `Bearer ${t.token('engineer', 'mallory', ['other'])}`;
    for (const [who, auth] of [
      ['alice', bob],
      ['alice', mallory],
      ['carol', alice], // no owner: engineers cannot see it
    ] as const) {
      for (const suffix of ['', '/preview']) {
        const res = await ask(who, { softBytes: Math.floor(0.6 * MiB), reason: 'not mine' }, auth, suffix);
        expect(res.status, `${who} ${suffix}`).toBe(404);
      }
    }
    expect((await ask('alice', { softBytes: Math.floor(0.6 * MiB), reason: 'not mine' }, bob)).body.code).toBe('directory_quota_not_found');
    expect(await counts()).toEqual(before);
    const byAdmin = await ask('carol', { softBytes: Math.floor(0.6 * MiB), reason: 'for the team' }, admin);
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body).toMatchObject({ state: 'approved', requestedBy: 'root', path: '/team/carol' });
  });

  it('refuses bad asks, unmanaged quotas and unknown ones, writing nothing', async () => {
    const before = await counts();
    const cases: Array<[string, object, number, string?]> = [
      ['alice', { reason: 'nothing asked' }, 400],
      ['alice', { hardBytes: MiB, reason: 'lower' }, 422, 'not_an_increase'],
      ['alice', { hardBytes: 'lots', reason: 'junk' }, 400],
      ['alice', { hardBytes: 5 * MiB, reason: 'past', until: new Date(Date.now() - DAY).toISOString() }, 400],
      ['alice', { hardBytes: 200 * MiB, reason: 'too far', until: new Date(Date.now() + 400 * DAY).toISOString() }, 400],
      ['alice', { hardBytes: 5 * MiB }, 400],
      ['dave', { hardBytes: 2 * MiB, reason: 'unmanaged' }, 409, 'directory_quota_unmanaged'],
    ];
    for (const [who, body, status, code] of cases) {
      const res = await ask(who, body, admin);
      expect(res.status, JSON.stringify([body, res.body])).toBe(status);
      if (code) expect(res.body.code).toBe(code);
    }
    const unknown = await api()
      .post(`${base()}/dq_00000000000000000000000000/requests`)
      .set('authorization', admin)
      .send({ hardBytes: 2 * MiB, reason: 'who?' });
    expect(unknown.status).toBe(404);
    expect(await counts()).toEqual(before);
    expect(await raw(ino.dave!)).toEqual({ maxSpace: BigInt(MiB), maxInodes: 10n, usedSpace: 0n, usedInodes: 0n });
  });

  it('unfreezes a frozen directory as soon as an approval raises its limits', async () => {
    const made = await api().post(base()).set('authorization', admin).send({ path: '/team/erin', softBytes: 100_000, hardBytes: MiB, graceSeconds: 0, ownerSub: 'erin' });
    expect(made.status).toBe(201);
    q.erin = made.body.id;
    await t.services.dirQuotaEnforcer.pass();
    await t.services.dirQuotaEnforcer.pass();
    expect((await row('erin')).enf_state).toBe('frozen');
    expect((await raw(ino.erin!)).maxSpace).toBe(200704n); // clamped to its usage
    const erin = `Bearer ${t.token('engineer', 'erin', ['acme'])}`;
    const asked = await ask('erin', { softBytes: 400_000, reason: 'room to work' }, erin);
    expect(asked.body.state).toBe('pending'); // 4x: no rule covers it
    const ok = await api().post(`/v1/quota-requests/${asked.body.id}/approve`).set('authorization', admin).send({});
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    // Decided at once, not at the next pass: the clamp is lifted back to the hard limit.
    expect((await row('erin')).enf_state).toBe('ok');
    expect(await raw(ino.erin!)).toMatchObject({ maxSpace: BigInt(MiB), usedSpace: 200704n });
  });

  it('takes soft asks on a volume without native quotas and refuses hard ones, saying why', async () => {
    const legacy = new TkvVolume(store, Buffer.from('old-vol'));
    await legacy.format({ name: 'old-vol', storage: 'file', bucket: '/old/', version: '0.17' });
    const fx = new FixtureBuilder(store, legacy.keys, { dirStats: false });
    await fx.mkdir(ROOT_INODE, 'proj');
    await fx.finish();
    const adopted = await api()
      .post('/v1/tenants/acme/volumes')
      .set('authorization', admin)
      .send({ name: 'old', adopt: { metaUrl: `local://${path.join(t.dataDir, 'meta.db')}?prefix=old-vol` } });
    expect(adopted.status, JSON.stringify(adopted.body)).toBe(201);
    const url = `/v1/volumes/${adopted.body.id}/directory-quotas`;
    const made = await api().post(url).set('authorization', admin).send({ path: '/proj', softBytes: MiB, ownerSub: 'alice' });
    expect(made.status).toBe(201);
    const before = await counts();
    const hard = await api()
      .post(`${url}/${made.body.id}/requests`)
      .set('authorization', alice)
      .send({ hardBytes: 2 * MiB, reason: 'hard please' });
    expect(hard.status).toBe(409);
    expect(hard.body).toMatchObject({ code: 'native_quota_unsupported', reason: expect.stringContaining('v0.17') });
    expect(await counts()).toEqual(before);
    const soft = await api()
      .post(`${url}/${made.body.id}/requests`)
      .set('authorization', alice)
      .send({ softBytes: Math.floor(1.2 * MiB), reason: 'soft please' });
    expect(soft.status, JSON.stringify(soft.body)).toBe(201);
    expect(soft.body).toMatchObject({ state: 'approved', ruleId: rule.percent });
    expect((await api().get(`${url}/${made.body.id}`).set('authorization', alice)).body.quota).toMatchObject({ softBytes: Math.floor(1.2 * MiB), hardBytes: null });
  });
});
