/**
 * The store of the notifications feature: the outbox (notices and one delivery row per target),
 * admins' template overrides, the weeks a tenant's digest was sent, and what each volume's early
 * warnings said last. `KnexNotificationStore` implements it over PostgreSQL and
 * `FakeNotificationStore` in memory; both pass test/contract/notification-store.contract.ts.
 * Stores never open transactions on their own: `transaction` hands a use case a store bound to
 * one plus its audit writer, `joined` the same inside the transaction of the change a notice
 * announces (the outbox writes there, so a notice commits or rolls back with its cause).
 */
import type { Actor, AuditInput } from '../audit/audit-log.js';
import type { Db } from '../db/database.js';
import type { ChannelKind } from './channels/channel.js';
import type { WarningMemory } from './forecast-pacing.js';
import type { Language, NewNotice, NoticeType } from './notice.js';
import type { Template } from './templates.js';

/** One notice as stored. */
export interface StoredNotice extends NewNotice {
  id: string;
  version: number;
  language: Language;
  createdAt: Date;
}

/** A notice as inserted (the store stamps `createdAt`). */
export type NewStoredNotice = Omit<StoredNotice, 'createdAt'>;

/**
 * Where one delivery goes: `webhook` or `email` and its address (a tenant's own, the admins'),
 * or a tenant channel's kind and its id (the address, often a credential, is read at delivery).
 */
export interface DeliveryTarget {
  channel: ChannelKind;
  target: string;
}

/** One target's delivery of a notice. */
export interface Delivery {
  notificationId: string;
  /** A built-in channel, or a tenant channel's kind. */
  channel: ChannelKind;
  target: string;
  state: 'pending' | 'sending' | 'delivered' | 'failed';
  attempts: number;
  nextAttemptAt: Date;
  lastError: string | null;
  deliveredAt: Date | null;
}

/** A claimed delivery with its notice. */
export interface DueDelivery {
  notice: StoredNotice;
  delivery: Delivery;
}

/** Filters of {@link NotificationStore.listNotices}; newest first, `beforeId` pages backwards. */
export interface NoticeFilter {
  tenantIds?: readonly string[];
  audience?: 'tenant' | 'admins';
  volumeId?: string;
  type?: string;
  beforeId?: string;
  limit: number;
}

/** An admin's override of a template. */
export interface TemplateOverride extends Template {
  type: NoticeType;
  language: Language;
  updatedBy: string;
  updatedAt: Date;
}

/** What one transaction of a notification use case sees. */
export interface NotificationUnitOfWork {
  store: NotificationStore;
  /** Appends an audit row in this transaction. */
  audit(actor: Actor, e: AuditInput): Promise<void>;
  /** The transaction, for the outbox and other features' read models (findings) to join. */
  trx: Db;
}

/** Notices, deliveries, template overrides, digest weeks and early-warning memory. */
export interface NotificationStore {
  /** Runs `fn` in one transaction; a throw rolls back every write, audit rows included. */
  transaction<T>(fn: (uow: NotificationUnitOfWork) => Promise<T>): Promise<T>;
  /** The unit of work of a transaction another feature opened and owns: the caller commits or rolls back. */
  joined(trx: Db): NotificationUnitOfWork;

  /**
   * Inserts a notice and one pending delivery per target, unless a notice of its event key
   * exists (then nothing is written and the transaction stays usable); true when inserted.
   */
  insertNotice(n: NewStoredNotice, targets: readonly DeliveryTarget[]): Promise<boolean>;
  /**
   * Claims up to `limit` due deliveries for `lockMs`: pending ones whose time has come, and
   * sending ones whose claimant died (lock expired), oldest due first. A claim counts an
   * attempt. Concurrent claimants never get the same row.
   */
  claimDue(limit: number, lockMs: number): Promise<DueDelivery[]>;
  /** Records a successful delivery. */
  markSent(id: string, channel: string, target: string): Promise<void>;
  /** Records a failed attempt: retried at `retryAt`, or given up (`failed`) when it is null. */
  markFailed(id: string, channel: string, target: string, error: string, retryAt: Date | null): Promise<void>;
  /** Puts a claimed delivery back, untried (its attempt uncounted), until `at` (a vendor's rate limit is not a failure). */
  markDeferred(id: string, channel: string, target: string, at: Date): Promise<void>;
  /** A page of notices with their deliveries (by channel). */
  listNotices(f: NoticeFilter): Promise<(StoredNotice & { deliveries: Delivery[] })[]>;

  /** Every stored override, by type and language. */
  listTemplateOverrides(): Promise<TemplateOverride[]>;
  /** Writes (or replaces) an override. */
  upsertTemplate(t: Omit<TemplateOverride, 'updatedAt'>): Promise<void>;
  /** Removes an override (back to the built-in template); true if one existed. */
  deleteTemplate(type: NoticeType, language: Language): Promise<boolean>;

  /** Records that the tenant's digest of `week` is being sent; false when it already was. */
  claimDigestWeek(tenantId: string, week: string): Promise<boolean>;

  /** The volume's early-warning memory, row-locked for the transaction (empty when none). */
  lockWarningMemory(tenantId: string, volumeId: string): Promise<WarningMemory>;
  /** Stores the volume's early-warning memory. */
  saveWarningMemory(tenantId: string, volumeId: string, memory: WarningMemory): Promise<void>;
}
