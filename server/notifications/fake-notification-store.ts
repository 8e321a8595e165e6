/**
 * The in-memory {@link NotificationStore} of unit tests. `transaction` snapshots every table and
 * the audit rows and puts them back when `fn` throws, as PostgreSQL's rollback would. Times the
 * database would stamp (`now()`) come from `now`, which tests may move. Passes
 * test/contract/notification-store.contract.ts.
 */
import type { Db } from '../db/database.js';
import { copyMap, FAKE_TRX, fakeAudit, fakeTransaction, type FakeAuditRows } from '../lib/in-memory-transactions.js';
import { emptyMemory, type WarningMemory } from './forecast-pacing.js';
import type { Language, NoticeType } from './notice.js';
import type { Delivery, DeliveryTarget, DueDelivery, NewStoredNotice, NoticeFilter, NotificationStore, NotificationUnitOfWork, StoredNotice, TemplateOverride } from './notification-store.js';

type DeliveryRow = Delivery & { lockedUntil: Date | null };

const deliveryKey = (id: string, channel: string, target: string) => JSON.stringify([id, channel, target]);
const copyDelivery = (d: DeliveryRow): DeliveryRow => ({ ...d });
const publicDelivery = ({ lockedUntil: _locked, ...d }: DeliveryRow): Delivery => d;
// JSON round trips: what a JSONB column gives back is a copy, never the caller's object.
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;
const copyNotice = (n: StoredNotice): StoredNotice => ({ ...n, data: clone(n.data) });

/** {@link NotificationStore} in memory. */
export class FakeNotificationStore implements NotificationStore {
  private notices = new Map<string, StoredNotice>();
  private deliveries = new Map<string, DeliveryRow>();
  private templates = new Map<string, TemplateOverride>();
  private digestWeeks = new Set<string>();
  private warnings = new Map<string, { tenantId: string; memory: WarningMemory }>();
  /** Audit rows written through a unit of work, in order. */
  audits: FakeAuditRows = [];
  /** The database's clock (tests may move it). */
  now = () => new Date();

  async transaction<T>(fn: (uow: NotificationUnitOfWork) => Promise<T>): Promise<T> {
    return fakeTransaction(
      this,
      () => ({
        notices: new Map(this.notices),
        deliveries: copyMap(this.deliveries, copyDelivery),
        templates: new Map(this.templates),
        digestWeeks: new Set(this.digestWeeks),
        warnings: new Map(this.warnings),
      }),
      () => fn(this.joined(FAKE_TRX)),
    );
  }

  /** The outer transaction is the caller's: writes land at once and are not rolled back here. */
  joined(trx: Db = FAKE_TRX): NotificationUnitOfWork {
    return { store: this, audit: fakeAudit(this), trx };
  }

  /** Every notice written, oldest first (what a test asserts on): in insertion order, since ids made in one millisecond need not sort by time. */
  allNotices(): StoredNotice[] {
    return [...this.notices.values()].map(copyNotice);
  }

  /** Every delivery of a notice, by channel then target. */
  deliveriesOf(notificationId: string): Delivery[] {
    return [...this.deliveries.values()]
      .filter((d) => d.notificationId === notificationId)
      .sort((a, b) => a.channel.localeCompare(b.channel) || a.target.localeCompare(b.target))
      .map(publicDelivery);
  }

  async insertNotice(n: NewStoredNotice, targets: readonly DeliveryTarget[]): Promise<boolean> {
    if ([...this.notices.values()].some((x) => x.eventKey === n.eventKey)) return false;
    const now = this.now();
    const { id, eventKey, type, version, audience, tenantId, volumeId, language, data } = n;
    this.notices.set(id, copyNotice({ id, eventKey, type, version, audience, tenantId, volumeId, language, data, createdAt: now }));
    for (const t of targets) {
      const k = deliveryKey(id, t.channel, t.target);
      if (this.deliveries.has(k)) continue;
      this.deliveries.set(k, { notificationId: id, channel: t.channel, target: t.target, state: 'pending', attempts: 0, nextAttemptAt: now, lastError: null, deliveredAt: null, lockedUntil: null });
    }
    return true;
  }

  async claimDue(limit: number, lockMs: number): Promise<DueDelivery[]> {
    const now = this.now();
    const due = [...this.deliveries.values()]
      .filter((d) => (d.state === 'pending' && d.nextAttemptAt <= now) || (d.state === 'sending' && d.lockedUntil !== null && d.lockedUntil < now))
      .sort((a, b) => a.nextAttemptAt.getTime() - b.nextAttemptAt.getTime() || (a.notificationId < b.notificationId ? -1 : a.notificationId > b.notificationId ? 1 : 0))
      .slice(0, limit);
    return due.map((d) => {
      Object.assign(d, { state: 'sending', attempts: d.attempts + 1, lockedUntil: new Date(now.getTime() + lockMs) });
      return { notice: copyNotice(this.notices.get(d.notificationId)!), delivery: publicDelivery(d) };
    });
  }

  private delivery(id: string, channel: string, target: string): DeliveryRow | undefined {
    return this.deliveries.get(deliveryKey(id, channel, target));
  }

  async markSent(id: string, channel: string, target: string): Promise<void> {
    const d = this.delivery(id, channel, target);
    if (d) Object.assign(d, { state: 'delivered', deliveredAt: this.now(), lockedUntil: null, lastError: null });
  }

  async markFailed(id: string, channel: string, target: string, error: string, retryAt: Date | null): Promise<void> {
    const d = this.delivery(id, channel, target);
    if (d) Object.assign(d, { state: retryAt ? 'pending' : 'failed', nextAttemptAt: retryAt ?? this.now(), lockedUntil: null, lastError: error.slice(0, 1000) });
  }

  async markDeferred(id: string, channel: string, target: string, at: Date): Promise<void> {
    const d = this.delivery(id, channel, target);
    if (d) Object.assign(d, { state: 'pending', nextAttemptAt: at, lockedUntil: null, attempts: Math.max(d.attempts - 1, 0) });
  }

  async listNotices(f: NoticeFilter): Promise<(StoredNotice & { deliveries: Delivery[] })[]> {
    return [...this.notices.values()]
      .filter(
        (n) =>
          (!f.tenantIds || f.tenantIds.includes(n.tenantId)) &&
          (!f.audience || n.audience === f.audience) &&
          (!f.volumeId || n.volumeId === f.volumeId) &&
          (!f.type || n.type === f.type) &&
          (!f.beforeId || n.id < f.beforeId),
      )
      .sort((a, b) => (a.id < b.id ? 1 : -1))
      .slice(0, f.limit)
      .map((n) => ({ ...copyNotice(n), deliveries: this.deliveriesOf(n.id) }));
  }

  async listTemplateOverrides(): Promise<TemplateOverride[]> {
    return [...this.templates.values()].sort((a, b) => (a.type === b.type ? (a.language < b.language ? -1 : 1) : a.type < b.type ? -1 : 1)).map((t) => ({ ...t }));
  }

  async upsertTemplate(t: Omit<TemplateOverride, 'updatedAt'>): Promise<void> {
    const { type, language, subject, text, html, updatedBy } = t;
    this.templates.set(`${type}/${language}`, { type, language, subject, text, html, updatedBy, updatedAt: this.now() });
  }

  async deleteTemplate(type: NoticeType, language: Language): Promise<boolean> {
    return this.templates.delete(`${type}/${language}`);
  }

  async claimDigestWeek(tenantId: string, week: string): Promise<boolean> {
    const k = JSON.stringify([tenantId, week]);
    if (this.digestWeeks.has(k)) return false;
    this.digestWeeks.add(k);
    return true;
  }

  async lockWarningMemory(tenantId: string, volumeId: string): Promise<WarningMemory> {
    const m = this.warnings.get(volumeId);
    return m && m.tenantId === tenantId ? { ...emptyMemory(), ...clone(m.memory) } : emptyMemory();
  }

  async saveWarningMemory(tenantId: string, volumeId: string, memory: WarningMemory): Promise<void> {
    // Keyed by volume, as the table is: a second tenant's save replaces the memory.
    this.warnings.set(volumeId, { tenantId, memory: clone(memory) });
  }
}
