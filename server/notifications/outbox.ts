/**
 * The write side of notifications: called inside the transaction of the change a notice
 * announces, it resolves who gets it (the tenant's webhook and email, or the admins') and
 * writes the notice and one delivery row per channel. Nothing is sent here.
 */
import { ulid } from 'ulid';
import type { Db } from '../db/database.js';
import { findTenant } from '../tenants/tenant-store.js';
import { PAYLOAD_VERSION, type Language, type NewNotice } from './notice.js';
import { insertNotice, type Channel } from './notification-store.js';

/** Where admin alerts go, and which channels this server can deliver on. */
export interface OutboxOptions {
  adminEmail?: string;
  adminWebhookUrl?: string;
  emailEnabled: boolean;
}

/** Enqueues notices. */
export class Outbox {
  constructor(
    private readonly opts: OutboxOptions,
    /** Called after a notice is enqueued, to wake the dispatcher early. */
    private readonly wake: () => void = () => {},
  ) {}

  /** Writes `n` in the caller's transaction; false when its event was already enqueued. */
  async enqueue(trx: Db, n: NewNotice): Promise<boolean> {
    const targets: { channel: Channel; target: string }[] = [];
    let language: Language = 'en';
    if (n.audience === 'admins') {
      if (this.opts.adminWebhookUrl) targets.push({ channel: 'webhook', target: this.opts.adminWebhookUrl });
      if (this.opts.adminEmail && this.opts.emailEnabled) targets.push({ channel: 'email', target: this.opts.adminEmail });
    } else {
      const t = await findTenant(trx, n.tenantId);
      if (t) {
        language = t.language;
        if (t.webhookUrl) targets.push({ channel: 'webhook', target: t.webhookUrl });
        if (this.opts.emailEnabled) targets.push({ channel: 'email', target: t.email });
      }
    }
    const created = await insertNotice(trx, { ...n, id: `ntf_${ulid().toLowerCase()}`, version: PAYLOAD_VERSION, language }, targets);
    if (created) this.wake();
    return created;
  }
}
