/**
 * Notifications wired once: the outbound guard every webhook and chat call passes, the senders,
 * tenants' channels, the dispatcher that delivers after commit, the outbox features enqueue into
 * inside their transactions, the weekly digest, and the start log that says which channels are on.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type client from 'prom-client';
import type { AppConfig } from '../config.js';
import { OutboundGuard } from '../lib/outbound-guard.js';
import { ChannelService } from '../notifications/channels/channel-service.js';
import { ChatSender } from '../notifications/chat-senders.js';
import { DigestService } from '../notifications/digest.js';
import { Dispatcher } from '../notifications/dispatcher.js';
import { FindingSource } from '../notifications/finding-source.js';
import { NotificationService } from '../notifications/notification-service.js';
import { Outbox } from '../notifications/outbox.js';
import { EmailSender, WebhookSender } from '../notifications/senders.js';
import { SecretBox } from '../storage/secret-box.js';
import type { TenantService } from '../tenants/tenant-service.js';
import type { ReadModels, Stores } from './stores.js';

/** What the notification wiring is built from. */
export interface NotificationWiringDeps {
  config: AppConfig;
  db: Knex;
  log: Logger;
  stores: Pick<Stores, 'channels' | 'notifications' | 'insights'>;
  reads: Pick<ReadModels, 'tenants'>;
  tenants: TenantService;
  /** Signs webhooks and seals channel secrets. */
  webhookSecret: string;
  registry: client.Registry;
}

/** Builds the notification side of the app. */
export function buildNotifications(d: NotificationWiringDeps) {
  const c = d.config;
  const outbound = outboundGuard(c);
  const email = c.notify.smtpUrl ? new EmailSender(c.notify.smtpUrl, c.notify.smtpFrom, c.notify.timeoutMs) : undefined;
  // Tenants' chat channels (issue 18): addresses and secrets sealed at rest under the webhook
  // signing key's box (always resolved, unlike the storage key), unsealed at delivery.
  const channelStore = d.stores.channels;
  const notificationStore = d.stores.notifications;
  const channels = new ChannelService(d.db, channelStore, new SecretBox(d.webhookSecret), d.tenants);
  const findingSource = new FindingSource(d.stores.insights);
  const dispatcher = new Dispatcher({
    store: notificationStore,
    log: d.log.child({ component: 'notifications' }),
    senders: { webhook: new WebhookSender(d.webhookSecret, c.notify.timeoutMs, outbound), email, chat: new ChatSender(outbound, c.notify.timeoutMs), channels },
    options: { maxAttempts: c.notify.maxAttempts, backoffMs: c.notify.backoffMs, pollMs: c.notify.pollMs, lockMs: Math.max(60_000, c.notify.timeoutMs * 3) },
    registry: d.registry,
  });
  const outbox = new Outbox(
    {
      store: notificationStore,
      tenants: d.reads.tenants,
      adminEmail: c.notify.adminEmail,
      adminWebhookUrl: c.notify.adminWebhookUrl,
      emailEnabled: !!email,
      channels: channelStore,
      findings: findingSource,
      pacing: c.notify.pacing,
    },
    () => dispatcher.kick(),
  );
  const digest = new DigestService({
    db: d.db,
    store: notificationStore,
    outbox,
    findings: findingSource,
    opts: { publicUrl: c.publicUrl, forecastWindowDays: c.enforcement.forecastWindowDays },
  });
  const notifications = new NotificationService(notificationStore);
  const logChannels = () => logChannelsOf(d.log, c, !!email);
  return { outbound, email, channels, dispatcher, outbox, digest, notifications, logChannels };
}

/** The guard every webhook and chat call passes. */
function outboundGuard(c: AppConfig): OutboundGuard {
  // Webhook targets are set by admins and the platform: never Headroom's own endpoints or the
  // platform's internal network unless OUTBOUND_ALLOW says so.
  return new OutboundGuard({
    allow: c.outboundAllow,
    internal: [
      c.database.url ?? `127.0.0.1:${c.database.embeddedPort}`,
      c.jobs.redisUrl,
      c.meta.redisUrl,
      ...(c.meta.etcdEndpoints ?? []),
      ...(c.meta.tikvPdEndpoints ?? []),
      c.storage?.s3Endpoint,
      c.storage?.iamEndpoint,
      c.storage?.filerUrl,
      c.storage?.masterUrl,
      c.notify.smtpUrl,
    ].filter((x): x is string => Boolean(x)),
  });
}

/** One line per channel, so "why did nobody hear about it" is answered by the start log. */
function logChannelsOf(log: Logger, c: AppConfig, email: boolean): void {
  const smtpHost = c.notify.smtpUrl ? new URL(c.notify.smtpUrl).host : undefined;
  log.info({ channel: 'email', enabled: email, smtp: smtpHost }, email ? `notifications by email: enabled (SMTP ${smtpHost})` : 'notifications by email: disabled (set SMTP_URL to enable)');
  log.info({ channel: 'webhook', enabled: true }, "notifications by webhook: enabled for tenants with a webhookUrl (signed with WEBHOOK_SECRET's key)");
  log.info(
    { channel: 'admins', email: !!c.notify.adminEmail, webhook: !!c.notify.adminWebhookUrl },
    c.notify.adminEmail || c.notify.adminWebhookUrl
      ? `admin notices: ${[c.notify.adminEmail && 'email', c.notify.adminWebhookUrl && 'webhook'].filter(Boolean).join(' and ')}`
      : 'admin notices: recorded only (set ADMIN_EMAIL or ADMIN_WEBHOOK_URL to deliver them)',
  );
}
