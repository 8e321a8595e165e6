/**
 * Faults on the notice receivers: a real SMTP server (smtp-server) and a webhook receiver, first
 * down (connection refused) and then slow (answering after longer than NOTIFY_TIMEOUT_MS).
 *
 * Held: API calls that enqueue notices answer as fast as ever (the dispatcher runs outside
 * requests, polling the outbox); failed deliveries are retried with exponential backoff and
 * delivered once the receiver is back; a slow receiver is cut at the timeout and retried; the
 * delivery state, attempts and last error are visible in GET /v1/notifications throughout.
 */
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_INODE } from '../../server/meta/tkv/keys.js';
import { startEngine, type EngineUnderTest } from '../support/engines.js';
import { pgAvailable } from '../support/pg.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { startReceiver, type TestReceiver } from '../support/webhook-receiver.js';

const MB = 1_000_000;
const TIMEOUT_MS = 1000;
const BACKOFF_MS = 150;
/** No API call may wait on a receiver: each must answer well inside the delivery timeout. */
const API_BOUND_MS = TIMEOUT_MS;

interface DeliveryView {
  channel: 'webhook' | 'email';
  state: string;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  deliveredAt: string | null;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!pgAvailable())('SMTP and webhook receivers down, then slow', () => {
  let eng: EngineUnderTest;
  let smtp: TestSmtp;
  let hook: TestReceiver;
  let t: TestApp;
  let admin: string;
  let volumeId: string;
  let smtpPort: number;
  let hookPort: number;

  beforeAll(async () => {
    [eng, smtp, hook] = await Promise.all([startEngine('local'), startSmtp(), startReceiver()]);
    smtpPort = Number(new URL(smtp.url).port);
    hookPort = Number(new URL(hook.url).port);
    t = await createTestApp({
      ...eng.env,
      SMTP_URL: smtp.url,
      NOTIFY_TIMEOUT_MS: String(TIMEOUT_MS),
      NOTIFY_BACKOFF_MS: String(BACKOFF_MS),
      NOTIFY_MAX_ATTEMPTS: '12',
      NOTIFY_POLL_MS: '50',
    });
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme', email: 'ops@acme.example', webhookUrl: hook.url });
    const v = await buildVolume(t.http, admin, 'acme', { name: 'data', quota: { softBytes: 100 * MB, hardBytes: 200 * MB } });
    const h = eng.handle(v.id, v.metaUrl);
    await h.fx.file(ROOT_INODE, 'data.bin', 5 * MB);
    await h.fx.finish();
    volumeId = v.id;
    // The dispatcher as it runs in production: polling the outbox in the background.
    t.services.dispatcher.start();
  }, 60_000);
  afterAll(async () => {
    await t?.close();
    await hook?.close();
    await smtp?.close();
    await eng?.stop();
  });

  /** A freeze or unfreeze (each enqueues a notice to the tenant's webhook and email); timed. */
  async function toggle(action: 'freeze' | 'unfreeze'): Promise<number> {
    const t0 = Date.now();
    const r = await request(t.http).post(`/v1/volumes/${volumeId}/${action}`).set('authorization', admin).send({ reason: 'receiver drill' });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    return Date.now() - t0;
  }

  async function notices(): Promise<{ id: string; type: string; deliveries: DeliveryView[] }[]> {
    const r = await request(t.http).get(`/v1/notifications?volumeId=${volumeId}`).set('authorization', admin);
    expect(r.status).toBe(200);
    return r.body.items;
  }
  const latest = async () => (await notices())[0]!;
  const delivery = (n: { deliveries: DeliveryView[] }, channel: DeliveryView['channel']) => n.deliveries.find((d) => d.channel === channel)!;

  /** Polls (bounded) until `pred` holds for the newest notice. */
  async function until(pred: (n: Awaited<ReturnType<typeof latest>>) => boolean, ms: number, what: string) {
    const end = Date.now() + ms;
    for (;;) {
      const n = await latest();
      if (pred(n)) return n;
      if (Date.now() > end) throw new Error(`${what} not seen within ${ms} ms: ${JSON.stringify(n.deliveries)}`);
      await sleep(25);
    }
  }

  /** API timings while the receivers misbehave: a few reads and writes that enqueue nothing. */
  async function apiLatencies(): Promise<number[]> {
    const out: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t0 = Date.now();
      const r = await request(t.http).get(`/v1/volumes/${volumeId}/enforcement`).set('authorization', admin);
      expect(r.status).toBe(200);
      out.push(Date.now() - t0);
    }
    return out;
  }

  it('down: refused deliveries back off and are visible, API unaffected; back up: delivered once', async () => {
    const baseline = [await toggle('freeze'), await toggle('unfreeze')];
    await until((n) => n.deliveries.every((d) => d.state === 'delivered'), 10_000, 'baseline delivery');

    await hook.close();
    await smtp.close();
    const downAt = Date.now();
    const during = [await toggle('freeze')];
    const notice = await latest();
    expect(notice.type).toBe('quota.frozen');
    // Backoff: sampled from the outbox, the wait scheduled after each failed attempt doubles.
    const waits = new Map<number, number>();
    for (let i = 0; i < 400 && (waits.get(4) ?? 0) === 0; i++) {
      const row = await t.database.db('notification_deliveries').where({ notification_id: notice.id, channel: 'webhook' }).first();
      if (row.state === 'pending' && row.attempts > 0 && !waits.has(row.attempts)) waits.set(row.attempts, new Date(row.next_attempt_at).getTime() - Date.now());
      await sleep(10);
    }
    during.push(...(await apiLatencies()));
    expect([...waits.keys()]).toEqual(expect.arrayContaining([1, 2, 3, 4]));
    // Each wait is BACKOFF_MS * 2^(attempt-1), ±20% jitter, minus the sampling lag.
    expect(waits.get(1)!).toBeLessThanOrEqual(BACKOFF_MS * 1.2);
    expect(waits.get(3)!).toBeGreaterThan(waits.get(1)! * 2);
    expect(waits.get(4)!).toBeGreaterThan(BACKOFF_MS * 8 * 0.8 - 100);
    const down = await latest();
    for (const channel of ['webhook', 'email'] as const) {
      const d = delivery(down, channel);
      expect(d, channel).toMatchObject({ state: expect.stringMatching(/^(pending|sending)$/), lastError: expect.stringMatching(/ECONNREFUSED|refused|connect/i) });
      expect(d.attempts, channel).toBeGreaterThanOrEqual(3);
    }
    expect(Math.max(...during), JSON.stringify({ baseline, during })).toBeLessThan(API_BOUND_MS);

    hook = await startReceiver({ port: hookPort });
    smtp = await startSmtp({ port: smtpPort });
    const upAt = Date.now();
    const delivered = await until((n) => n.deliveries.every((d) => d.state === 'delivered'), 15_000, 'delivery after recovery');
    const recoveredMs = Date.now() - upAt;
    for (const channel of ['webhook', 'email'] as const) expect(delivery(delivered, channel), channel).toMatchObject({ lastError: null, deliveredAt: expect.any(String) });
    expect(hook.delivered().filter((d) => d.headers['x-headroom-delivery'] === notice.id)).toHaveLength(1);
    expect(smtp.messages.filter((m) => m.messageId === `<${notice.id}@headroom>`)).toHaveLength(1);
    console.info(
      `[faults-notify] down ${upAt - downAt} ms: API max ${Math.max(...during)} ms (baseline ${Math.max(...baseline)} ms); waits ${JSON.stringify(Object.fromEntries(waits))}; delivered ${recoveredMs} ms after the receivers came back`,
    );
  }, 60_000);

  it('slow: each attempt is cut at NOTIFY_TIMEOUT_MS and retried, API unaffected; fast again: delivered', async () => {
    hook.setDelay(TIMEOUT_MS * 4);
    smtp.setDelay(TIMEOUT_MS * 4);
    const before = hook.received.length;
    const t0 = Date.now();
    const during = [await toggle('unfreeze')];
    const notice = await latest();
    expect(notice.type).toBe('quota.unfrozen');
    during.push(...(await apiLatencies()));
    // Both channels fail by the timeout, long before the receivers would have answered.
    const cut = await until((n) => n.deliveries.every((d) => d.attempts >= 1 && d.lastError !== null), TIMEOUT_MS * 3, 'attempts cut at the timeout');
    const cutMs = Date.now() - t0;
    expect(cutMs).toBeLessThan(TIMEOUT_MS * 3);
    expect(delivery(cut, 'webhook').lastError).toMatch(new RegExp(`no answer within ${TIMEOUT_MS} ms`));
    expect(delivery(cut, 'email').lastError).toMatch(/timeout/i);
    expect(hook.received.length, 'the slow receiver did get the attempt').toBeGreaterThan(before);
    expect(Math.max(...during)).toBeLessThan(API_BOUND_MS);

    hook.setDelay(0);
    smtp.setDelay(0);
    const delivered = await until((n) => n.deliveries.every((d) => d.state === 'delivered'), 20_000, 'delivery once fast again');
    const deliveredMs = Date.now() - t0;
    expect(delivery(delivered, 'webhook').attempts).toBeGreaterThanOrEqual(2);
    expect(delivery(delivered, 'email').attempts).toBeGreaterThanOrEqual(2);
    const mine = hook.received.filter((r) => r.headers['x-headroom-delivery'] === notice.id);
    // The cut attempt was never answered as far as Headroom knows; a later one was, exactly once.
    expect(mine.filter((r) => r.status === 204)).toHaveLength(1);
    expect(mine.length).toBeGreaterThanOrEqual(2);
    // A relay that accepted the cut attempt late may hold a duplicate; its Message-ID folds it.
    expect(smtp.messages.filter((m) => m.messageId === `<${notice.id}@headroom>`).length).toBeGreaterThanOrEqual(1);
    console.info(`[faults-notify] slow: attempts cut after ${cutMs} ms (timeout ${TIMEOUT_MS} ms), API max ${Math.max(...during)} ms; delivered ${deliveredMs} ms after the notice`);
  }, 60_000);
});
