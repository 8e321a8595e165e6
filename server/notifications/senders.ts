/**
 * Delivery channels. Webhooks: a JSON POST signed with HMAC-SHA256 over `<timestamp>.<body>`
 * (header `X-Headroom-Signature: t=<unix seconds>,v1=<hex>`), so receivers can check both who
 * sent it and that it is fresh. Email: SMTP through nodemailer, plain text and HTML, with a
 * Message-ID derived from the notice id so mail clients fold a rare duplicate.
 */
import { createHmac } from 'node:crypto';
import nodemailer, { type Transporter } from 'nodemailer';
import type { OutboundGuard } from '../lib/outbound-guard.js';
import type { StoredNotice } from './notification-store.js';

/** A rendered notice. */
export interface Rendered {
  subject: string;
  text: string;
  html: string;
}

/** Signs a webhook body; exported so receivers (and tests) verify the same way. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The JSON a webhook receives. */
export function webhookPayload(n: StoredNotice, m: Rendered) {
  return {
    version: n.version,
    type: n.type,
    id: n.id,
    occurredAt: n.createdAt.toISOString(),
    tenantId: n.tenantId,
    volumeId: n.volumeId,
    language: n.language,
    data: n.data,
    message: { subject: m.subject, text: m.text },
  };
}

/** POSTs notices to webhooks, through the outbound guard (no internal targets, no redirects). */
export class WebhookSender {
  constructor(
    private readonly secret: string,
    private readonly timeoutMs: number,
    private readonly guard: OutboundGuard,
  ) {}

  /** Posts `n` to `url`, signed with the server's key or a webhook channel's own `secret`. */
  async send(url: string, n: StoredNotice, m: Rendered, secret = this.secret): Promise<void> {
    const body = JSON.stringify(webhookPayload(n, m));
    const ts = Math.floor(Date.now() / 1000);
    const res = await this.guard.post(
      url,
      {
        'content-type': 'application/json',
        'user-agent': 'Headroom-Webhook/1',
        'x-headroom-event': n.type,
        'x-headroom-delivery': n.id,
        'idempotency-key': n.id,
        'x-headroom-signature': signWebhook(secret, ts, body),
      },
      body,
      this.timeoutMs,
    );
    // Redirects are not followed: a 3xx is a failed delivery, as any other non-2xx.
    if (res.status < 200 || res.status >= 300) throw new Error(`webhook answered ${res.status}`);
  }
}

/** Sends notices by SMTP. */
export class EmailSender {
  private readonly transport: Transporter;

  constructor(
    smtpUrl: string,
    private readonly from: string,
    timeoutMs: number,
  ) {
    const u = new URL(smtpUrl);
    this.transport = nodemailer.createTransport({
      host: u.hostname,
      port: Number(u.port || (u.protocol === 'smtps:' ? 465 : 25)),
      secure: u.protocol === 'smtps:',
      auth: u.username ? { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } : undefined,
      // Local relays often have self-signed certificates; STARTTLS is still used when offered.
      tls: { rejectUnauthorized: u.searchParams.get('tlsVerify') !== 'false' },
      connectionTimeout: timeoutMs,
      greetingTimeout: timeoutMs,
      socketTimeout: timeoutMs,
    });
  }

  async send(to: string, n: StoredNotice, m: Rendered): Promise<void> {
    await this.transport.sendMail({
      from: this.from,
      to,
      subject: m.subject,
      text: m.text,
      html: m.html,
      messageId: `<${n.id}@headroom>`,
      headers: { 'X-Headroom-Event': n.type },
    });
  }

  close(): void {
    this.transport.close();
  }
}
