/**
 * Quota requests end to end, on the embedded engine and on Redis: auto-approval by each kind of
 * rule, admin review with other numbers, temporary grants that revert and re-freeze, the guard
 * rails, concurrency, tenant isolation, and every response against the OpenAPI spec.
 */
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { engineAvailable, startEngine, type EngineUnderTest, type Handle } from '../support/engines.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const MB = 1_000_000;
const engines = (['local', 'redis'] as const).map((kind) => ({ kind, available: engineAvailable(kind) }));

describe.each(engines)('quota requests on $kind', ({ kind, available }) => {
  if (!available) return void it.skip('needs its servers');
  let t: TestApp;
  let eng: EngineUnderTest;
  let admin: string;
  let eve: string; // engineer of acme
  let mallory: string; // engineer of another tenant
  const rule: Record<string, string> = {};

  beforeAll(async () => {
    eng = await startEngine(kind);
    t = await createTestApp({ ...eng.env, QUOTA_MAX_HARD_BYTES: String(10_000 * MB), PUBLIC_URL: 'https://h.example.com' });
    admin = `Bearer ${t.token('admin', 'root')}`;
    eve = `Bearer ${t.token('engineer', 'eve', ['acme'])}`;
    mallory = `Bearer ${t.token('engineer', 'mallory', ['other'])}`;
    await buildTenant(t.http, admin, { id: 'acme', displayName: 'Acme', email: 'acme@example.com', tier: 'gold' });
    await buildTenant(t.http, admin, { id: 'other', displayName: 'Other', email: 'o@example.com' });
    for (const [name, body] of [
      ['ceiling', { tier: 'gold', kind: 'tier_ceiling', params: { maxHardBytes: 500 * MB, maxHardInodes: null }, position: 1 }],
      ['percent', { tier: 'gold', kind: 'percent_increase', params: { maxPercent: 20, cooldownDays: 30 }, position: 2, description: 'routine +20%' }],
      ['burst', { tier: 'gold', kind: 'temporary_grant', params: { maxFactor: 2, maxDays: 14 }, position: 3 }],
    ] as const) {
      const res = await request(t.http).post('/v1/quota-rules').set('authorization', admin).send(body);
      expect(res.status).toBe(201);
      rule[name] = res.body.id;
    }
  });
  afterAll(async () => {
    await t?.close();
    await eng?.stop();
  });

  async function volume(name: string, quota: object, usedBytes = 0): Promise<Handle> {
    const res = await request(t.http).post('/v1/tenants/acme/volumes').set('authorization', admin).send({ name, quota });
    expect(res.status).toBe(201);
    const h = eng.handle(res.body.id, res.body.metaUrl);
    if (usedBytes) {
      await h.fx.file(ROOT_INODE, 'data.bin', usedBytes);
      await h.fx.finish();
    }
    return h;
  }
  const ask = async (volumeId: string, body: object, auth = eve) => {
    const res = await request(t.http).post(`/v1/volumes/${volumeId}/quota-requests`).set('authorization', auth).send(body);
    return res;
  };
  const act = async (id: string, verb: 'approve' | 'deny' | 'cancel', body: object = {}, auth = admin) => {
    const res = await request(t.http).post(`/v1/quota-requests/${id}/${verb}`).set('authorization', auth).send(body);
    return res;
  };
  const enforcement = async (id: string) => (await request(t.http).get(`/v1/volumes/${id}/enforcement`).set('authorization', eve)).body;
  const notices = async (volumeId: string) => (await request(t.http).get(`/v1/notifications?volumeId=${volumeId}`).set('authorization', admin)).body.items.map((n: { type: string }) => n.type);

  it('grants a routine increase at once by the percent rule, then queues the next one (once in 30 days) for an admin, who approves other numbers', async () => {
    const v = await volume('routine', { softBytes: 80 * MB, hardBytes: 100 * MB }, 50 * MB);
    const a = await ask(v.id, { hardBytes: 115 * MB, reason: 'new dataset' });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ state: 'approved', ruleId: rule.percent, granted: { hardBytes: 115 * MB }, previous: { hardBytes: 100 * MB }, decidedBy: `rule:${rule.percent}` });
    expect(a.body.explanation).toMatch(/\+20%/);
    expect(a.headers.location).toBe(`/v1/quota-requests/${a.body.id}`);
    expect(await v.capacity()).toBe(115n * BigInt(MB)); // JuiceFS told at once, not at the next pass

    const b = await ask(v.id, { hardBytes: 130 * MB, reason: 'more' });
    expect(b.body).toMatchObject({ state: 'pending', ruleId: null });
    expect(b.body.explanation).toMatch(/one automatic increase every 30 days/);
    const queue = await request(t.http).get('/v1/quota-requests?state=pending').set('authorization', admin);
    expect(queue.body.items.map((r: { id: string }) => r.id)).toContain(b.body.id);

    const ok = await act(b.body.id, 'approve', { hardBytes: 125 * MB, softBytes: 100 * MB, comment: 'trimmed to what the forecast needs' });
    expect(ok.status).toBe(200);
    expect(ok.body).toMatchObject({ state: 'approved', decidedBy: 'root', granted: { hardBytes: 125 * MB, softBytes: 100 * MB }, comment: 'trimmed to what the forecast needs' });
    const vol = (await request(t.http).get(`/v1/volumes/${v.id}`).set('authorization', eve)).body;
    expect(vol.quota).toMatchObject({ hardBytes: 125 * MB, softBytes: 100 * MB });
    expect(await v.capacity()).toBe(125n * BigInt(MB));
    expect(await notices(v.id)).toEqual(expect.arrayContaining(['quota.request_approved', 'admin.request_pending']));
    const audit = await request(t.http).get(`/v1/audit?entityType=quota_request&entityId=${b.body.id}`).set('authorization', admin);
    expect(audit.body.items.map((x: { action: string }) => x.action).sort()).toEqual(['quota_request.approved', 'quota_request.created']);
  });

  it('a temporary grant unfreezes at once and, when it ends, reverts and re-freezes a volume still over', async () => {
    const v = await volume('burst', { hardBytes: 100 * MB }, 110 * MB);
    await t.services.enforcement.countersPass();
    expect((await enforcement(v.id)).state).toBe('frozen');
    const e0 = await enforcement(v.id);
    expect(e0.whatYouCanDo.join(' ')).toMatch(/Ask for more room: POST https:\/\/h\.example\.com\/v1\/volumes\/.*\/quota-requests/);

    const until = new Date(Date.now() + 10 * 86_400_000);
    const g = await ask(v.id, { hardBytes: 200 * MB, reason: 'training run until Friday', until: until.toISOString() });
    expect(g.body).toMatchObject({ state: 'approved', ruleId: rule.burst, until: until.toISOString() });
    expect((await enforcement(v.id)).state).toBe('ok'); // unfrozen now, not at the next pass
    expect(await v.capacity()).toBe(200n * BigInt(MB));

    expect(await t.services.requests.revertDue(new Date(until.getTime() - 1000))).toBe(0);
    expect(await t.services.requests.revertDue(new Date(until.getTime() + 1000))).toBe(1);
    const vol = (await request(t.http).get(`/v1/volumes/${v.id}`).set('authorization', eve)).body;
    expect(vol.quota.hardBytes).toBe(100 * MB);
    const e = await enforcement(v.id);
    expect(e).toMatchObject({ state: 'frozen', reason: 'hard_bytes_reached' });
    expect(await v.capacity()).toBeLessThan(200n * BigInt(MB));
    const rec = (await request(t.http).get(`/v1/quota-requests/${g.body.id}`).set('authorization', eve)).body;
    expect(rec.revertedAt).not.toBeNull();
    expect(await notices(v.id)).toEqual(expect.arrayContaining(['quota.grant_reverted', 'quota.frozen', 'quota.unfrozen']));
    expect(await t.services.requests.revertDue(new Date(until.getTime() + 5000))).toBe(0); // once
  });

  it('sends what is above the tier ceiling to an admin, and refuses what is above the platform ceiling', async () => {
    const v = await volume('big', { hardBytes: 400 * MB });
    const r = await ask(v.id, { hardBytes: 450 * MB, reason: 'x'.repeat(5) });
    expect(r.body.state).toBe('approved'); // +12.5%, under the ceiling
    const v2 = await volume('bigger', { hardBytes: 450 * MB });
    const p = await ask(v2.id, { hardBytes: 520 * MB, reason: 'over the gold ceiling' });
    expect(p.body.state).toBe('pending');
    expect(p.body.explanation).toMatch(/above the tier ceiling/);
    const cancel = await act(p.body.id, 'cancel', {}, eve);
    expect(cancel.body.state).toBe('cancelled');
    const huge = await ask(v2.id, { hardBytes: 20_000 * MB, reason: 'everything' });
    expect(huge.status).toBe(422);
    expect(huge.body.code).toBe('above_platform_ceiling');
  });

  it('refuses what would not help: below usage, lowering, a second pending request', async () => {
    const v = await volume('guards', { softBytes: 50 * MB, hardBytes: 100 * MB }, 150 * MB);
    const below = await ask(v.id, { hardBytes: 120 * MB, reason: 'a little more' });
    expect(below.status).toBe(422);
    expect(below.body).toMatchObject({ code: 'request_below_usage' });
    expect(below.body.detail).toMatch(/already uses 150 MB/);
    const lower = await ask(v.id, { softBytes: 40 * MB, reason: 'lower' });
    expect(lower.body.code).toBe('not_an_increase');
    const same = await ask(v.id, { softBytes: 50 * MB, hardBytes: 100 * MB, reason: 'what I have' });
    expect(same.status).toBe(lower.status);
    expect(same.body).toMatchObject({ code: 'not_an_increase', detail: expect.stringMatching(/already has softBytes 50000000 and hardBytes 100000000/) });
    const first = await ask(v.id, { hardBytes: 400 * MB, reason: 'big job' });
    expect(first.body.state).toBe('pending');
    const second = await ask(v.id, { hardBytes: 300 * MB, reason: 'or this' });
    expect(second.status).toBe(409);
    expect(second.body).toMatchObject({ code: 'request_pending', pendingRequestId: first.body.id });
    // The usage and enforcement answers point at the pending request.
    const u = await request(t.http).get(`/v1/volumes/${v.id}/usage`).set('authorization', eve);
    expect(u.body.pendingRequest).toMatchObject({ id: first.body.id, requested: { hardBytes: 400 * MB }, href: `https://h.example.com/v1/quota-requests/${first.body.id}` });
    expect((await enforcement(v.id)).whatYouCanDo.join(' ')).toContain(`Your request ${first.body.id} is waiting for an admin`);
  });

  it('lets exactly one of a concurrent approve and deny win, and tells the requester a denial', async () => {
    const v = await volume('race', { hardBytes: 100 * MB }, 10 * MB);
    const p = await ask(v.id, { hardBytes: 300 * MB, reason: 'race me' });
    expect(p.body.state).toBe('pending');
    const [x, y] = await Promise.all([act(p.body.id, 'approve'), act(p.body.id, 'deny', { reason: 'no budget this quarter' })]);
    expect([x.status, y.status].sort()).toEqual([200, 409]);
    expect([x, y].find((r) => r.status === 409)!.body.code).toBe('request_not_pending');
    const final = (await request(t.http).get(`/v1/quota-requests/${p.body.id}`).set('authorization', eve)).body;
    const quota = (await request(t.http).get(`/v1/volumes/${v.id}`).set('authorization', eve)).body.quota;
    if (final.state === 'approved') expect(quota.hardBytes).toBe(300 * MB);
    else expect(quota.hardBytes).toBe(100 * MB);

    const q = await ask(v.id, { hardBytes: Math.max(400, quota.hardBytes / MB + 100) * MB, reason: 'again' });
    const d = await act(q.body.id, 'deny', { reason: 'no budget this quarter' });
    expect(d.body).toMatchObject({ state: 'denied', comment: 'no budget this quarter' });
    const denied = (await request(t.http).get(`/v1/notifications?volumeId=${v.id}&type=quota.request_denied`).set('authorization', eve)).body.items;
    expect(denied.filter((n: { data: { request: { id: string } } }) => n.data.request.id === q.body.id)).toHaveLength(1);
    expect(denied[0].data.request.comment).toBe('no budget this quarter');
    await t.services.dispatcher.flush(); // renders without error (no channels configured here)
    expect((await act(q.body.id, 'deny', { reason: 'twice' })).status).toBe(409);
  });

  it("keeps tenants apart: another tenant's engineer sees and does nothing (404), engineers cannot decide (403)", async () => {
    const v = await volume('private', { hardBytes: 100 * MB });
    const p = await ask(v.id, { hardBytes: 500 * MB, reason: 'secret project' });
    expect((await request(t.http).get(`/v1/quota-requests/${p.body.id}`).set('authorization', mallory)).status).toBe(404);
    expect((await act(p.body.id, 'cancel', {}, mallory)).status).toBe(404);
    expect((await ask(v.id, { hardBytes: 900 * MB, reason: 'mine now' }, mallory)).status).toBe(404);
    const list = await request(t.http).get('/v1/quota-requests').set('authorization', mallory);
    expect(list.body.items).toEqual([]);
    expect((await act(p.body.id, 'approve', {}, eve)).status).toBe(403);
    const bob = `Bearer ${t.token('engineer', 'bob', ['acme'])}`;
    expect((await act(p.body.id, 'cancel', {}, bob)).status).toBe(403); // same tenant, not the requester
    expect((await act(p.body.id, 'cancel', {}, eve)).body.state).toBe('cancelled');
  });

  it('lets admins edit rules, with params checked by kind, and audits it', async () => {
    const bad = await request(t.http)
      .post('/v1/quota-rules')
      .set('authorization', admin)
      .send({ tier: 'gold', kind: 'percent_increase', params: { maxPercent: -5 } });
    expect(bad.status).toBe(400);
    const put = await request(t.http)
      .put(`/v1/quota-rules/${rule.percent}`)
      .set('authorization', admin)
      .send({ tier: 'gold', kind: 'percent_increase', params: { maxPercent: 50, cooldownDays: 7 }, position: 2 });
    expect(put.status).toBe(200);
    expect(put.body.params).toEqual({ maxPercent: 50, cooldownDays: 7 });
    const list = await request(t.http).get('/v1/quota-rules?tier=gold').set('authorization', admin);
    expect(list.body.items.map((r: { kind: string }) => r.kind)).toEqual(['tier_ceiling', 'percent_increase', 'temporary_grant']);
    await request(t.http).get('/v1/quota-rules').set('authorization', eve).expect(403);
    const audit = await request(t.http).get(`/v1/audit?entityType=quota_rule&entityId=${rule.percent}`).set('authorization', admin);
    expect(audit.body.items.map((a: { action: string }) => a.action)).toEqual(['quota_rule.updated', 'quota_rule.created']);
    const tierByEngineer = await request(t.http).patch('/v1/tenants/acme').set('authorization', eve).send({ tier: 'platinum' });
    expect(tierByEngineer.status).toBe(403);
  });
});
