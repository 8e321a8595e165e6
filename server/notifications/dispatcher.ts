/**
 * The read side of the outbox: claims due deliveries, renders each notice in its recipient's
 * language from the current templates, sends it, and records the outcome. Failures are retried
 * with exponential backoff (with jitter, so a flapping receiver is not hit in lockstep) until
 * the attempt limit, then marked failed.
 *
 * Each delivery is claimed with a lock (SKIP LOCKED, a lease time), so several instances may run
 * dispatchers without sending anything twice. The one window left is a crash after a send and
 * before it is recorded; receivers dedupe on the notice id (`X-Headroom-Delivery`,
 * `Idempotency-Key`, the email Message-ID) to close it.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import client from 'prom-client';
import { noticeVars } from './message.js';
import type { Language, NoticeType } from './notice.js';
import { claimDue, listTemplateOverrides, markAttemptFailed, markDelivered, type Delivery, type StoredNotice } from './notification-store.js';
import type { EmailSender, Rendered, WebhookSender } from './senders.js';
import { defaultTemplate, render, type Template } from './templates.js';

/** Retry policy and pacing. */
export interface DispatcherOptions {
  maxAttempts: number;
  backoffMs: number;
  pollMs: number;
  /** How long a claim is held; a claimant that dies is replaced after this. */
  lockMs: number;
}

/** Delivers the outbox. */
export class Dispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private again = false;
  private readonly sent: client.Counter<'channel' | 'result'>;

  constructor(
    private readonly db: Knex,
    private readonly log: Logger,
    private readonly senders: { webhook: WebhookSender; email?: EmailSender },
    private readonly opts: DispatcherOptions,
    registry: client.Registry,
  ) {
    this.sent = new client.Counter({ name: 'headroom_notification_attempts_total', help: 'Notice delivery attempts by channel and result', labelNames: ['channel', 'result'], registers: [registry] });
  }

  private stopped = false;

  /** Starts polling. */
  start(): void {
    this.stopped = false;
    this.timer ??= setInterval(() => this.kick(), this.opts.pollMs);
    this.timer.unref();
  }

  /** Asks for a pass soon (after an enqueue); coalesces with a pass in progress. */
  kick(): void {
    // After stop nothing new starts: a pass queued by `again` would outlive the pool it uses.
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.drain()
      .catch((err: unknown) => {
        this.log.error({ err }, 'notification dispatch failed');
        return 0;
      })
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          setTimeout(() => this.kick(), 20).unref();
        }
      });
  }

  /** Runs passes until nothing is due; returns how many deliveries were attempted. */
  async drain(): Promise<number> {
    let total = 0;
    for (;;) {
      const n = await this.runOnce();
      total += n;
      if (n === 0) return total;
    }
  }

  /** Waits for a background pass in progress, then delivers everything due (tests, shutdown). */
  async flush(): Promise<number> {
    while (this.running) await this.running;
    return this.drain();
  }

  /** One pass: claim, render, send, record. */
  async runOnce(limit = 50): Promise<number> {
    const due = await claimDue(this.db, limit, this.opts.lockMs);
    if (!due.length) return 0;
    const overrides = await listTemplateOverrides(this.db);
    const templateOf = (type: NoticeType, lang: Language): Template => overrides.find((o) => o.type === type && o.language === lang) ?? defaultTemplate(type, lang);
    // In order per recipient (a "writes work again" must not overtake its "writes are stopped"),
    // recipients in parallel.
    const queues = new Map<string, typeof due>();
    for (const item of due) {
      const k = `${item.delivery.channel}:${item.delivery.target}`;
      queues.set(k, [...(queues.get(k) ?? []), item]);
    }
    await Promise.all(
      [...queues.values()].map(async (queue) => {
        queue.sort((a, b) => a.notice.id.localeCompare(b.notice.id));
        for (const { notice, delivery } of queue) await this.deliver(notice, delivery, templateOf);
      }),
    );
    return due.length;
  }

  private async deliver(notice: StoredNotice, delivery: Delivery, templateOf: (type: NoticeType, lang: Language) => Template): Promise<void> {
    try {
      const message = renderNotice(notice, templateOf(notice.type, notice.language), new Date());
      if (delivery.channel === 'webhook') await this.senders.webhook.send(delivery.target, notice, message);
      else if (this.senders.email) await this.senders.email.send(delivery.target, notice, message);
      else throw new Error('email is not configured on this server (SMTP_URL)');
      await markDelivered(this.db, notice.id, delivery.channel);
      this.sent.inc({ channel: delivery.channel, result: 'delivered' });
    } catch (err) {
      const error = (err as Error).message;
      const giveUp = delivery.attempts >= this.opts.maxAttempts;
      const delay = this.opts.backoffMs * 2 ** (delivery.attempts - 1) * (0.8 + Math.random() * 0.4);
      await markAttemptFailed(this.db, notice.id, delivery.channel, error, giveUp ? null : new Date(Date.now() + delay));
      this.sent.inc({ channel: delivery.channel, result: giveUp ? 'failed' : 'retry' });
      this.log.warn({ notificationId: notice.id, channel: delivery.channel, attempts: delivery.attempts, giveUp, error }, 'notice delivery failed');
    }
  }

  /** Stops polling and waits for a pass in progress. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }
}

/** Renders a notice with a template. */
export function renderNotice(n: StoredNotice, t: Template, now: Date): Rendered {
  const vars = noticeVars(n.data, n.language, now);
  return { subject: render(t.subject, vars).replace(/\s+/g, ' ').trim(), text: render(t.text, vars), html: render(t.html, vars, true) };
}
