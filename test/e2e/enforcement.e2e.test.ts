/**
 * Enforcement end to end on real components: PostgreSQL, a real metadata engine (etcd with the
 * TKV layout, and Redis with its own layout: the same scenarios on both), an SMTP server and a
 * webhook receiver in-process. Volumes are filled and emptied through the fixture builders (the
 * bytes a JuiceFS client writes); passes run as the scheduler runs them; the JuiceFS setting is
 * read back from the engine.
 */
import { createHmac } from 'node:crypto';
import { request } from '../support/api.js';
import { buildTenant } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { engineAvailable, startEngine, type EngineUnderTest } from '../support/engines.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { createTestApp, testWebhookSecret, type TestApp } from '../support/test-app.js';
import { startReceiver, type TestReceiver } from '../support/webhook-receiver.js';

const MB = 1_000_000;

const engines = (['etcd', 'redis'] as const).map((kind) => ({ kind, available: engineAvailable(kind) }));

describe.each(engines)('quota enforcement on $kind (PostgreSQL, SMTP, webhooks)', ({ kind, available }) => {
  if (!available) return void it.skip('needs its servers');
  let t: TestApp;
  let eng: EngineUnderTest;
  let smtp: TestSmtp;
  let hook: TestReceiver;
  let admin: string;

  beforeAll(async () => {
    [eng, smtp, hook] = await Promise.all([startEngine(kind), startSmtp(), startReceiver()]);
    t = await createTestApp({
      ...eng.env,
      SMTP_URL: smtp.url,
      SMTP_FROM: 'Headroom <headroom@example.com>',
      NOTIFY_BACKOFF_MS: '20',
      NOTIFY_MAX_ATTEMPTS: '4',
      ADMIN_EMAIL: 'ops@example.com',
      PUBLIC_URL: 'https://headroom.example.com',
    });
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'alice', displayName: 'Alice', email: 'alice@example.com', webhookUrl: hook.url });
    await buildTenant(t.http, admin, { id: 'bob', displayName: 'Bob', email: 'bob@example.com', language: 'zh' });
  });
  afterAll(async () => {
    await t?.close();
    await Promise.all([eng?.stop(), smtp?.close(), hook?.close()]);
  });

  /** Creates a volume through the API and returns handles to fill it and read its setting. */
  async function volume(tenant: string, name: string, quota: object) {
    const res = await request(t.http).post(`/v1/tenants/${tenant}/volumes`).set('authorization', admin).send({ name, quota });
    expect(res.status).toBe(201);
    return eng.handle(res.body.id as string, res.body.metaUrl as string);
  }
  const enforcement = async (id: string, auth = admin) => {
    const r = await request(t.http).get(`/v1/volumes/${id}/enforcement`).set('authorization', auth);
    expect(r.status).toBe(200);
    return r.body;
  };
  const pass = (now?: Date) => t.services.enforcement.countersPass({ now });
  const deliver = () => t.services.dispatcher.flush();
  const mailsTo = (to: string) => smtp.messages.filter((m) => m.to && !Array.isArray(m.to) && m.to.text === to);

  it('warns over soft, freezes at hard with the capacity in the engine, holds inside the margin, and unfreezes below it', async () => {
    const { id, fx, capacity } = await volume('alice', 'alice-data', { softBytes: 100 * MB, hardBytes: 120 * MB, graceSeconds: 7 * 86_400 });
    expect(await capacity()).toBe(120n * BigInt(MB)); // the hard limit is JuiceFS's capacity from the start

    const ckpt = await fx.mkdir(ROOT_INODE, 'checkpoints');
    await fx.file(ckpt, 'step-1000.pt', 50 * MB);
    await fx.finish();
    let counts = await pass();
    expect(counts).toMatchObject({ transitions: 0, frozen: 0 });
    expect((await enforcement(id)).state).toBe('ok');

    const big = await fx.file(ckpt, 'step-2000.pt', 55 * MB);
    await fx.finish();
    counts = await pass();
    expect(counts).toMatchObject({ transitions: 1, notices: 1 });
    let e = await enforcement(id);
    expect(e).toMatchObject({ state: 'over_soft', reason: 'soft_bytes_exceeded', frozenBy: null });
    expect(new Date(e.graceDeadline).getTime()).toBeGreaterThan(Date.now() + 6.9 * 86_400_000);
    expect(e.explanation).toMatch(/over the soft limit/);

    const extra = await fx.file(ckpt, 'step-3000.pt', 20 * MB);
    const after = await fx.finish();
    counts = await pass();
    expect(counts).toMatchObject({ transitions: 1, frozen: 1, limitWrites: 1 });
    e = await enforcement(id);
    expect(e).toMatchObject({ state: 'frozen', reason: 'hard_bytes_reached', frozenBy: 'policy', causedBy: { bytes: Number(after.usedSpace) } });
    // Frozen = JuiceFS capacity clamped to the current usage: the next write gets ENOSPC.
    expect(await capacity()).toBe(after.usedSpace);
    expect(e.juicefsLimits.capacity).toBe(Number(after.usedSpace));

    // Below hard but still over the soft limit: stays frozen, and the clamp follows usage down.
    await fx.unlink(ckpt, 'step-3000.pt', extra, 20 * MB);
    const mid = await fx.finish();
    counts = await pass();
    expect(counts.transitions).toBe(0);
    expect((await enforcement(id)).state).toBe('frozen');
    expect(await capacity()).toBe(mid.usedSpace);

    await fx.unlink(ckpt, 'step-2000.pt', big, 55 * MB);
    await fx.finish();
    counts = await pass();
    expect(counts).toMatchObject({ transitions: 1, unfrozen: 1 });
    e = await enforcement(id);
    expect(e).toMatchObject({ state: 'ok', reason: 'below_release_line' });
    expect(await capacity()).toBe(120n * BigInt(MB));
    expect(e.history.map((h: { to: string }) => h.to)).toEqual(['ok', 'frozen', 'over_soft']);

    // Three notices, each by email and webhook, delivered once.
    await deliver();
    const mails = mailsTo('alice@example.com');
    expect(mails.map((m) => m.subject)).toEqual(['Your volume alice-data is over its soft limit', 'Writes to alice-data are stopped', 'Writes to alice-data work again']);
    expect(mails[0]!.text).toContain('Your volume `alice-data` is 87% full (105 MB of 120 MB)');
    expect(mails[0]!.text).toContain('https://headroom.example.com/v1/volumes/' + id + '/quota-requests');
    expect(mails[0]!.html).toContain('<code>alice-data</code>');
    expect(mails[1]!.text).toContain('it reached its hard limit of 120 MB');
    expect(mails[1]!.text).toMatch(/writes resume once you free \d+(\.\d+)? MB/);
    const hooks = hook.delivered().filter((h) => (h.json.data as { volume: { id: string } }).volume.id === id);
    expect(hooks.map((h) => h.json.type)).toEqual(['quota.soft_exceeded', 'quota.frozen', 'quota.unfrozen']);
    for (const h of hooks) {
      expect(h.json.version).toBe(1);
      const [ts, sig] = String(h.headers['x-headroom-signature']).split(',');
      const body = hook.received.find((r) => r.headers['x-headroom-delivery'] === h.headers['x-headroom-delivery'] && r.status < 300)!.body;
      const expected = createHmac('sha256', testWebhookSecret)
        .update(`${ts!.slice(2)}.${body}`)
        .digest('hex');
      expect(sig).toBe(`v1=${expected}`);
    }
  });

  it('freezes when the grace period expires, after warning that it is about to', async () => {
    const { id, fx, capacity } = await volume('alice', 'grace', { softBytes: 10 * MB, hardBytes: 100 * MB, graceSeconds: 3600 });
    const dir = await fx.mkdir(ROOT_INODE, 'envs');
    await fx.file(dir, 'conda.tar', 20 * MB);
    const used = await fx.finish();
    const start = new Date();
    await pass(start);
    const e = await enforcement(id);
    expect(e.state).toBe('over_soft');
    const types = (await request(t.http).get(`/v1/notifications?volumeId=${id}`).set('authorization', admin)).body.items.map((n: { type: string }) => n.type);
    // Grace of one hour is inside the 24 h warning window: warned at once.
    expect(types.sort()).toEqual(['quota.grace_ending', 'quota.soft_exceeded']);

    await pass(new Date(start.getTime() + 30 * 60_000));
    expect((await enforcement(id)).state).toBe('over_soft');
    await pass(new Date(start.getTime() + 3601_000));
    expect(await enforcement(id)).toMatchObject({ state: 'frozen', reason: 'grace_expired' });
    expect(await capacity()).toBe(used.usedSpace);
  });

  it('keeps a manual freeze through scheduled runs until an admin lifts it, or it expires', async () => {
    const { id, fx, capacity } = await volume('alice', 'manual', { softBytes: 100 * MB, hardBytes: 200 * MB });
    await fx.file(ROOT_INODE, 'a', 5 * MB);
    const used = await fx.finish();
    const engineer = `Bearer ${t.token('engineer', 'alice', ['alice'])}`;
    await request(t.http).post(`/v1/volumes/${id}/freeze`).set('authorization', engineer).send({ reason: 'nope' }).expect(403);
    const bad = await request(t.http).post(`/v1/volumes/${id}/unfreeze`).set('authorization', admin).send({ reason: 'nothing to lift' });
    expect(bad.status).toBe(409);
    expect(bad.body.code).toBe('not_manually_frozen');

    const f = await request(t.http).post(`/v1/volumes/${id}/freeze`).set('authorization', admin).send({ reason: 'security incident INC-42' });
    expect(f.status).toBe(200);
    expect(f.body).toMatchObject({ state: 'frozen', reason: 'manual_freeze', frozenBy: 'admin', manualFreeze: { reason: 'security incident INC-42', by: 'root', until: null } });
    expect(await capacity()).toBe(used.usedSpace);

    for (let i = 0; i < 2; i++) {
      await pass();
      await t.services.enforcement.enforcePass();
    }
    const e = await enforcement(id, engineer);
    expect(e.state).toBe('frozen');
    expect(e.explanation).toContain('An admin (root) froze writes');

    const u = await request(t.http).post(`/v1/volumes/${id}/unfreeze`).set('authorization', admin).send({ reason: 'resolved' });
    expect(u.status).toBe(200);
    expect(u.body).toMatchObject({ state: 'ok', reason: 'manual_unfreeze', manualFreeze: null });
    expect(await capacity()).toBe(200n * BigInt(MB));

    // A freeze with an expiry is lifted by the first pass after it.
    const until = new Date(Date.now() + 60_000);
    await request(t.http).post(`/v1/volumes/${id}/freeze`).set('authorization', admin).send({ reason: 'maintenance', until: until.toISOString() }).expect(200);
    await pass(new Date(until.getTime() - 1000));
    expect((await enforcement(id)).state).toBe('frozen');
    await pass(new Date(until.getTime() + 1000));
    expect(await enforcement(id)).toMatchObject({ state: 'ok', reason: 'manual_freeze_expired', manualFreeze: null });

    const audit = await request(t.http).get(`/v1/audit?entityId=${id}&entityType=enforcement`).set('authorization', admin);
    expect(audit.body.items.map((a: { actor: string }) => a.actor)).toEqual(expect.arrayContaining(['root', 'system:enforcer']));
  });

  it('decides nothing on bad data: a failed read neither freezes nor unfreezes, and admins are told', async () => {
    const frozen = await volume('alice', 'bad-frozen', { hardBytes: 10 * MB });
    await frozen.fx.file(ROOT_INODE, 'x', 12 * MB);
    await frozen.fx.finish();
    const over = await volume('alice', 'bad-over', { hardBytes: 10 * MB });
    const healthy = await volume('alice', 'bad-healthy', { hardBytes: 10 * MB });
    await pass();
    expect((await enforcement(frozen.id)).state).toBe('frozen');
    const frozenCapacity = await frozen.capacity();

    // Corrupt both volumes' usedSpace counters (8 bytes expected): reads fail for them only.
    await over.fx.file(ROOT_INODE, 'y', 12 * MB);
    await over.fx.finish();
    for (const v of [frozen, over]) await v.setUsedSpace('garbage');
    const counts = await pass();
    expect(counts.readFailed).toBe(2); // only the two corrupted volumes
    const ef = await enforcement(frozen.id);
    expect(ef).toMatchObject({ state: 'frozen', unknown: { reason: expect.stringMatching(/usage could not be read/) } });
    expect(ef.usage.error).toBeTruthy();
    expect(await frozen.capacity()).toBe(frozenCapacity); // not unfrozen
    expect((await enforcement(over.id)).state).toBe('ok'); // not frozen
    expect(await over.capacity()).toBe(10n * BigInt(MB));

    // Admins hear about it once per episode, not every pass.
    await pass();
    const alerts = (await request(t.http).get(`/v1/notifications?type=admin.volume_unknown`).set('authorization', admin)).body.items.filter((n: { volumeId: string }) =>
      [frozen.id, over.id].includes(n.volumeId),
    );
    expect(alerts).toHaveLength(2);
    await deliver();
    expect(mailsTo('ops@example.com').map((m) => m.subject)).toContain('Headroom cannot judge volume bad-over');
    // Engineers never see admin alerts.
    const mine = await request(t.http)
      .get('/v1/notifications?type=admin.volume_unknown')
      .set('authorization', `Bearer ${t.token('engineer', 'alice', ['alice'])}`);
    expect(mine.body.items).toEqual([]);

    // Stale readings are bad data too: an evaluation long after the last read decides nothing.
    const stale = await t.services.enforcement.enforcePass({ now: new Date(Date.now() + 3_600_000) });
    expect(stale.transitions).toBe(0);
    expect(stale.unknown).toBeGreaterThan(0);
    expect((await enforcement(healthy.id)).unknown.reason).toMatch(/is older than the allowed 900 s/);
    await pass(); // a fresh reading makes it known again
    expect((await enforcement(healthy.id)).unknown).toBeNull();
  });

  it('does not trust counters that the last walk contradicts', async () => {
    const { id, fx, setUsedSpace } = await volume('alice', 'drift', { softBytes: 100 * MB, hardBytes: 200 * MB });
    await fx.file(ROOT_INODE, 'model.bin', 10 * MB);
    await fx.finish();
    // The counter claims 500 MB more than the tree holds (a JuiceFS counter bug, say).
    await setUsedSpace(510n * BigInt(MB));
    const v = await t.services.volumes.get({ sub: 'root', role: 'admin', tenants: [] }, id);
    const walk = await t.services.walks.walkNow(v, {});
    expect(walk?.state).toBe('succeeded');
    await pass();
    const e = await enforcement(id);
    expect(e.state).toBe('ok'); // not frozen on a counter the walk disproves
    expect(e.unknown.reason).toMatch(/walk .* disagrees with the counters/);
  });

  it("speaks the tenant's language", async () => {
    const { fx } = await volume('bob', 'bob-ckpt', { softBytes: 10 * MB, hardBytes: 20 * MB });
    await fx.file(ROOT_INODE, 'big', 30 * MB);
    await fx.finish();
    await pass();
    await deliver();
    const [m] = mailsTo('bob@example.com');
    expect(m!.subject).toBe('存储卷 bob-ckpt 已停止写入');
    expect(m!.text).toContain('已达到硬限额 20 MB');
    expect(m!.text).toContain('已用 150%（30 MB / 20 MB）');
  });

  it('retries a failing webhook with backoff and delivers exactly once', async () => {
    const { id, fx } = await volume('alice', 'retry', { hardBytes: 1 * MB });
    hook.failNext(2);
    await fx.file(ROOT_INODE, 'f', 2 * MB);
    await fx.finish();
    await pass();
    // Two dispatchers racing over the same outbox (two instances) must not double-send.
    const other = t.services.dispatcher;
    for (let i = 0; i < 50; i++) {
      await Promise.all([other.runOnce(), t.services.dispatcher.runOnce()]);
      const n = (await request(t.http).get(`/v1/notifications?volumeId=${id}`).set('authorization', admin)).body.items[0];
      if (n.deliveries.every((d: { state: string }) => d.state === 'delivered')) break;
      await new Promise((r) => setTimeout(r, 30));
    }
    const list = await request(t.http).get(`/v1/notifications?volumeId=${id}`).set('authorization', admin);
    const webhook = list.body.items[0].deliveries.find((d: { channel: string }) => d.channel === 'webhook');
    expect(webhook).toMatchObject({ state: 'delivered', attempts: 3 });
    const forVolume = hook.received.filter((r) => r.body.includes(id));
    expect(forVolume.map((r) => r.status)).toEqual([500, 500, 204]);
    expect(new Set(forVolume.map((r) => r.headers['x-headroom-delivery'])).size).toBe(1);
  });

  it('gives up after the attempt limit and marks the delivery failed', async () => {
    const { id, fx } = await volume('alice', 'giveup', { hardBytes: 1 * MB });
    hook.failNext(100);
    await fx.file(ROOT_INODE, 'f', 2 * MB);
    await fx.finish();
    await pass();
    for (let i = 0; i < 100; i++) {
      await t.services.dispatcher.runOnce();
      const n = (await request(t.http).get(`/v1/notifications?volumeId=${id}`).set('authorization', admin)).body.items[0];
      if (n.deliveries.find((d: { channel: string }) => d.channel === 'webhook').state === 'failed') break;
      await new Promise((r) => setTimeout(r, 30));
    }
    const n = (await request(t.http).get(`/v1/notifications?volumeId=${id}`).set('authorization', admin)).body.items[0];
    expect(n.deliveries.find((d: { channel: string }) => d.channel === 'webhook')).toMatchObject({ state: 'failed', attempts: 4, lastError: 'webhook answered 500' });
    expect(n.deliveries.find((d: { channel: string }) => d.channel === 'email').state).toBe('delivered');
    hook.failNext(0);
  });
});
