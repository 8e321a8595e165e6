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
import type { Logger } from 'pino';
import client from 'prom-client';
import type { ChatSender } from './chat-senders.js';
import { isChannelId, type ChannelConfig, type ChannelKind } from './channels/channel.js';
import { noticeVars } from './message.js';
import type { Language, NoticeType } from './notice.js';
import type { Delivery, NotificationStore, StoredNotice } from './notification-store.js';
import { RatePacer, VENDOR_LIMITS } from './rate-pacer.js';
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

/** Tenants' channels, resolved at delivery (a deleted or disabled channel is not sent to). */
export interface ChannelResolver {
  configFor(tenantId: string, id: string): Promise<{ channel: { kind: ChannelKind }; config: ChannelConfig } | undefined>;
}

/** What the dispatcher sends with. */
export interface Senders {
  webhook: WebhookSender;
  email?: EmailSender;
  chat?: ChatSender;
  channels?: ChannelResolver;
}

/** What a dispatcher is built from. */
export interface DispatcherDeps {
  store: NotificationStore;
  log: Logger;
  senders: Senders;
  options: DispatcherOptions;
  /** Where its attempt counter is registered. */
  registry: client.Registry;
}

/** A vendor's rate limit is waited out in line up to this long; longer, the delivery is put back. */
const MAX_INLINE_WAIT_MS = 1500;

/** Raised for deliveries that can never succeed (their channel is gone): not retried. */
class Permanent extends Error {}

/** Delivers the outbox. */
export class Dispatcher {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<number> | undefined;
  private again = false;
  private readonly sent: client.Counter<'channel' | 'result'>;
  private readonly pacer = new RatePacer();

  private readonly store: NotificationStore;
  private readonly log: Logger;
  private readonly senders: Senders;
  private readonly opts: DispatcherOptions;

  constructor({ store, log, senders, options, registry }: DispatcherDeps) {
    this.store = store;
    this.log = log;
    this.senders = senders;
    this.opts = options;
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
    const due = await this.store.claimDue(limit, this.opts.lockMs);
    if (!due.length) return 0;
    const overrides = await this.store.listTemplateOverrides();
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
    const channel = delivery.channel as string;
    try {
      const message = renderNotice(notice, templateOf(notice.type, notice.language), new Date());
      if (isChannelId(delivery.target)) {
        if ((await this.toChannel(notice, delivery, message)) === 'deferred') return;
      } else if (channel === 'webhook') await this.senders.webhook.send(delivery.target, notice, message);
      else if (this.senders.email) await this.senders.email.send(delivery.target, notice, message);
      else throw new Error('email is not configured on this server (SMTP_URL)');
      await this.store.markSent(notice.id, channel, delivery.target);
      this.sent.inc({ channel, result: 'delivered' });
    } catch (err) {
      const error = (err as Error).message;
      const giveUp = err instanceof Permanent || delivery.attempts >= this.opts.maxAttempts;
      const delay = this.opts.backoffMs * 2 ** (delivery.attempts - 1) * (0.8 + Math.random() * 0.4);
      await this.store.markFailed(notice.id, channel, delivery.target, error, giveUp ? null : new Date(Date.now() + delay));
      this.sent.inc({ channel, result: giveUp ? 'failed' : 'retry' });
      this.log.warn({ notificationId: notice.id, channel, attempts: delivery.attempts, giveUp, error }, 'notice delivery failed');
    }
  }

  /**
   * Sends on a tenant channel: its address and secret are unsealed now, and the vendor's rate
   * limit is kept (waited out briefly, or the delivery is put back untried until there is room).
   */
  private async toChannel(notice: StoredNotice, delivery: Delivery, message: Rendered): Promise<'sent' | 'deferred'> {
    const found = await this.senders.channels?.configFor(notice.tenantId, delivery.target);
    if (!found) throw new Permanent('the channel was deleted or disabled');
    const kind = found.channel.kind;
    for (;;) {
      const wait = this.pacer.reserve(delivery.target, VENDOR_LIMITS[kind] ?? [], Date.now());
      if (wait === 0) break;
      if (wait > MAX_INLINE_WAIT_MS) {
        await this.store.markDeferred(notice.id, delivery.channel, delivery.target, new Date(Date.now() + wait));
        this.sent.inc({ channel: kind, result: 'paced' });
        return 'deferred';
      }
      await new Promise((resolve) => setTimeout(resolve, wait));
    }
    if (kind === 'webhook') await this.senders.webhook.send(found.config.url!, notice, message, found.config.secret);
    else if (kind === 'email') {
      if (!this.senders.email) throw new Error('email is not configured on this server (SMTP_URL)');
      await this.senders.email.send(found.config.address!, notice, message);
    } else {
      if (!this.senders.chat) throw new Error('chat channels are not configured on this server');
      await this.senders.chat.send(kind, found.config, { ...message, language: notice.language, requestUrl: notice.data.links.request }, notice.id);
    }
    return 'sent';
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
