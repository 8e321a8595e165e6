/**
 * Webhook targets cannot reach what only Headroom should: with no OUTBOUND_ALLOW, a tenant webhook
 * on loopback is refused at delivery, nothing reaches the receiver, and the delivery says why.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pgAvailable } from '../support/pg.js';
import { request } from '../support/api.js';
import { buildTenant, buildVolume } from '../support/factories.js';
import { createTestApp, type TestApp } from '../support/test-app.js';
import { startReceiver, type TestReceiver } from '../support/webhook-receiver.js';

describe.skipIf(!pgAvailable())('outbound safety of webhooks', () => {
  let t: TestApp;
  let hook: TestReceiver;
  let admin: string;
  beforeAll(async () => {
    hook = await startReceiver();
    t = await createTestApp({ OUTBOUND_ALLOW: '', NOTIFY_BACKOFF_MS: '20', NOTIFY_MAX_ATTEMPTS: '1' });
    admin = `Bearer ${t.token('admin', 'root')}`;
    await buildTenant(t.http, admin, { id: 'acme', webhookUrl: hook.url });
  });
  afterAll(async () => {
    await t?.close();
    await hook?.close();
  });

  it('refuses a loopback webhook at delivery, visibly, and sends nothing', async () => {
    const v = await buildVolume(t.http, admin, 'acme', { name: 'data' });
    expect((await request(t.http).post(`/v1/volumes/${v.id}/freeze`).set('authorization', admin).send({ reason: 'test' })).status).toBe(200);
    for (let i = 0; i < 50; i++) {
      await t.services.dispatcher.runOnce();
      const n = (await request(t.http).get(`/v1/notifications?volumeId=${v.id}`).set('authorization', admin)).body.items[0];
      if (n?.deliveries.find((d: { channel: string }) => d.channel === 'webhook')?.state === 'failed') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const n = (await request(t.http).get(`/v1/notifications?volumeId=${v.id}`).set('authorization', admin)).body.items[0];
    const webhook = n.deliveries.find((d: { channel: string }) => d.channel === 'webhook');
    expect(webhook).toMatchObject({ state: 'failed', lastError: expect.stringMatching(/^refused: 127\.0\.0\.1 resolves to 127\.0\.0\.1 \(loopback\)/) });
    expect(hook.received).toHaveLength(0);
  });
});
