/**
 * Rule previews (`POST /v1/quota-rules/preview`) judge directory-quota requests next to volume
 * requests, as filing judges them: each against its own target's limits (a directory's, never the
 * volume's) and its own target's automatic approvals (a volume's grant is no cooldown for its
 * directories), and each item names its target. Real PostgreSQL and the local engine.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEngine } from '../../server/engines/local/local-engine.js';
import { FixtureBuilder } from '../../server/meta/tkv/fixture.js';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { TkvVolume } from '../../server/meta/tkv/tkv-volume.js';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { pgAvailable } from '../support/pg.js';
import { createTestApp, type TestApp } from '../support/test-app.js';

const MiB = 1 << 20;

type Verdict = { approve: boolean; ruleId: string | null; explanation: string };
type Item = { request: { id: string; state: string; ruleId: string | null; explanation: string }; target: object; now: Verdict; after: Verdict; byThisRule: boolean; changed: boolean };

describe.skipIf(!pgAvailable())('rule previews of directory and volume requests', () => {
  let t: TestApp;
  let admin: string;
  let store: LocalEngine;
  let vol: { id: string; prefix: string };
  let percent: string;
  const q: Record<string, string> = {};
  const req: Record<string, string> = {};

  beforeAll(async () => {
    t = await createTestApp();
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme', tier: 'gold' });
    const rule = await api()
      .post('/v1/quota-rules')
      .set('authorization', admin)
      .send({ tier: 'gold', kind: 'percent_increase', params: { maxPercent: 20, cooldownDays: 30 }, position: 10 });
    expect(rule.status).toBe(201);
    percent = rule.body.id;
    store = new LocalEngine(path.join(t.dataDir, 'meta.db'));
    vol = (await buildVolume(t.http, admin, 'acme', { name: 'team', quota: { softBytes: 50 * MiB, hardBytes: 100 * MiB } })) as unknown as { id: string; prefix: string };
    const tv = new TkvVolume(store, Buffer.from(vol.prefix));
    const fx = new FixtureBuilder(store, tv.keys);
    const team = await fx.mkdir(ROOT_INODE, 'team');
    for (const who of ['alice', 'bob', 'carol']) await fx.mkdir(team, who);
    await fx.finish();
    for (const who of ['alice', 'bob', 'carol']) {
      const res = await api()
        .post(dirs())
        .set('authorization', admin)
        .send({ path: `/team/${who}`, hardBytes: MiB, ownerSub: who });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      q[who] = res.body.id;
    }
    // Filed as filing judges them (the percent rule, 30 days' cooldown, per target):
    const file = async (name: string, url: string, hardBytes: number, state: string) => {
      const res = await api().post(url).set('authorization', admin).send({ hardBytes, reason: name });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.state, name).toBe(state);
      req[name] = res.body.id;
    };
    const volume = `/v1/volumes/${vol.id}/quota-requests`;
    await file('volumeRoutine', volume, 110 * MiB, 'approved'); // +10%
    await file('aliceRoutine', `${dirs()}/${q.alice}/requests`, Math.floor(1.1 * MiB), 'approved'); // +10%: the volume's grant is not its cooldown
    await file('aliceAgain', `${dirs()}/${q.alice}/requests`, 1.5 * MiB, 'pending'); // alice's cooldown
    await file('volumeAgain', volume, 160 * MiB, 'pending'); // the volume's cooldown
    await file('bobBig', `${dirs()}/${q.bob}/requests`, 2 * MiB, 'pending'); // +100%
    await file('carolGone', `${dirs()}/${q.carol}/requests`, Math.floor(1.5 * MiB), 'pending');
    expect((await api().delete(`${dirs()}/${q.carol}`).set('authorization', admin)).status).toBe(200);
  });
  afterAll(async () => {
    await store?.close();
    await t?.close();
  });

  const api = () => request(t.http);
  const dirs = () => `/v1/volumes/${vol.id}/directory-quotas`;
  const preview = (body: object) => api().post('/v1/quota-rules/preview').set('authorization', admin).send(body);
  const byName = (items: Item[]) => Object.fromEntries(Object.entries(req).map(([name, id]) => [name, items.find((i) => i.request.id === id)]));
  const cooldown = (id: string) => `no rule applies (rule ${id} allows one automatic increase every 30 days); an admin must review it`;
  const approvedBy = (id: string, pct: number, days: number) => `approved by rule ${id}: at most +${pct}% once every ${days} days`;

  it('judges each request against its own target, names the target, and agrees with filing', async () => {
    const before = Number((await t.database.db('audit_events').count({ n: '*' }))[0]!.n);
    const res = await preview({ rule: { tier: 'gold', kind: 'percent_increase', params: { maxPercent: 60, cooldownDays: 0 }, position: 20 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Number((await t.database.db('audit_events').count({ n: '*' }))[0]!.n)).toBe(before);
    // carol's quota is gone: her request could not be filed today, so it is left out.
    expect(res.body.summary).toEqual({ examined: 5, wouldApprove: 4, byThisRule: 2, newlyApproved: 2, noLongerApproved: 0 });
    const i = byName(res.body.items as Item[]);
    expect(i.carolGone).toBeUndefined();
    const volume = { kind: 'volume', quotaId: null, path: null };
    const alice = { kind: 'directory_quota', quotaId: q.alice, path: '/team/alice' };
    const bob = { kind: 'directory_quota', quotaId: q.bob, path: '/team/bob' };
    const yes = (ruleId: string, explanation: string) => ({ approve: true, ruleId, explanation });
    const no = (explanation: string) => ({ approve: false, ruleId: null, explanation });

    // Granted ones, against the limits they replaced (volume 100 MiB, alice 1 MiB): approved by today's rule either way.
    expect(i.volumeRoutine).toMatchObject({ target: volume, now: yes(percent, approvedBy(percent, 20, 30)), after: yes(percent, approvedBy(percent, 20, 30)), byThisRule: false, changed: false });
    expect(i.aliceRoutine).toMatchObject({ target: alice, now: yes(percent, approvedBy(percent, 20, 30)), after: yes(percent, approvedBy(percent, 20, 30)), byThisRule: false, changed: false });
    // Pending ones, each in its own cooldown today; the new rule (no cooldown, +60%) takes them.
    expect(i.aliceAgain).toMatchObject({ target: alice, now: no(cooldown(percent)), after: yes('new', approvedBy('new', 60, 0)), byThisRule: true, changed: true });
    expect(i.volumeAgain).toMatchObject({ target: volume, now: no(cooldown(percent)), after: yes('new', approvedBy('new', 60, 0)), byThisRule: true, changed: true });
    // bob's 2 MiB is judged against his 1 MiB (the volume's 110 MiB would let it through).
    expect(i.bobBig).toMatchObject({
      target: bob,
      now: no(`no rule applies (rule ${percent} allows at most +20%: hardBytes ${2 * MiB} > 1258291); an admin must review it`),
      after: no(`no rule applies (rule ${percent} allows at most +20%: hardBytes ${2 * MiB} > 1258291; rule new allows at most +60%: hardBytes ${2 * MiB} > 1677721); an admin must review it`),
      byThisRule: false,
      changed: false,
    });
    // Today's verdicts are the ones filing gave.
    for (const name of ['aliceAgain', 'volumeAgain', 'bobBig']) expect(i[name]!.now.explanation, name).toBe(i[name]!.request.explanation);
    for (const name of ['volumeRoutine', 'aliceRoutine']) expect(i[name]!.now.ruleId, name).toBe(i[name]!.request.ruleId);
  });

  it('applies a tier ceiling to both kinds by their own numbers', async () => {
    const res = await preview({ rule: { tier: 'gold', kind: 'tier_ceiling', params: { maxHardBytes: 1.25 * MiB, maxHardInodes: null }, position: 1 } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.summary).toEqual({ examined: 5, wouldApprove: 1, byThisRule: 0, newlyApproved: 0, noLongerApproved: 1 });
    const i = byName(res.body.items as Item[]);
    expect(i.volumeRoutine).toMatchObject({
      target: { kind: 'volume' },
      now: { approve: true, ruleId: percent },
      after: { approve: false, ruleId: null, explanation: `hardBytes ${110 * MiB} is above the tier ceiling ${1.25 * MiB}; an admin must review it` },
      changed: true,
    });
    expect(i.aliceRoutine).toMatchObject({ target: { kind: 'directory_quota', quotaId: q.alice }, after: { approve: true, ruleId: percent }, changed: false });
    expect(i.bobBig!.after.explanation).toBe(`hardBytes ${2 * MiB} is above the tier ceiling ${1.25 * MiB}; an admin must review it`);
  });
});
