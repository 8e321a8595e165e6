/**
 * The weekly digest per tenant (job `digest`, DIGEST_CRON, Monday 08:00 by default): per volume
 * its usage, growth over the week, forecast and reclaimable bytes, the largest findings, and the
 * requests waiting for review. One notice per tenant per ISO week: the week is claimed in the
 * notice's transaction, so a re-run (or a second replica) sends nothing twice.
 */
import type { Knex } from 'knex';
import { forecastFull } from '../quotas/forecast.js';
import { digestSamples, digestTenants, digestVolumes, pendingRequestCount } from './digest-read-model.js';
import type { FindingSource } from './finding-source.js';
import type { DigestData, NoticeData, NoticeFinding } from './notice.js';
import type { NotificationStore } from './notification-store.js';
import type { Outbox } from './outbox.js';

/** What the digest is built from and sent through. */
export interface DigestDeps {
  /** For the read model (digest-read-model.ts), which reads across other features' tables. */
  db: Knex;
  /** Where the week is claimed, in the notice's transaction. */
  store: NotificationStore;
  outbox: Outbox;
  findings: FindingSource;
  opts: { publicUrl: string; forecastWindowDays: number };
}

/** The ISO week of `d`, as "2026-W49". */
export function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day); // the week's Thursday names its year
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** Builds and enqueues digests. */
export class DigestService {
  private readonly db: Knex;
  private readonly store: NotificationStore;
  private readonly outbox: Outbox;
  private readonly findings: FindingSource;
  private readonly opts: DigestDeps['opts'];

  constructor(d: DigestDeps) {
    ({ db: this.db, store: this.store, outbox: this.outbox, findings: this.findings, opts: this.opts } = d);
  }

  /** Sends this week's digest to every tenant with active volumes that has not had it; returns counts. */
  async run(now = new Date(), signal?: AbortSignal): Promise<{ tenants: number; sent: number }> {
    const tenants = await digestTenants(this.db);
    let sent = 0;
    for (const tenant of tenants) {
      signal?.throwIfAborted();
      if (await this.sendOne(tenant, now)) sent++;
    }
    return { tenants: tenants.length, sent };
  }

  /** One tenant's digest; false when this week's was already sent (or it has no volumes). */
  async sendOne(tenant: { id: string; name: string }, now: Date): Promise<boolean> {
    const tenantId = tenant.id;
    const week = isoWeek(now);
    const weekAgo = new Date(now.getTime() - 7 * 86_400_000);
    const volumes = await digestVolumes(this.db, tenantId, weekAgo);
    const first = volumes[0];
    if (!first) return false;
    const samples = await digestSamples(
      this.db,
      volumes.map((v) => v.id),
      new Date(now.getTime() - this.opts.forecastWindowDays * 86_400_000),
    );
    const digest: DigestData = {
      week,
      pendingRequests: await pendingRequestCount(this.db, tenantId),
      volumes: volumes.map((v) => {
        const series = [...(samples.get(v.id) ?? [])];
        if (v.bytes !== null) series.push({ at: now, bytes: v.bytes, inodes: 0n });
        const f = forecastFull(series, v.hardBytes, now);
        return {
          id: v.id,
          name: v.name,
          state: v.state,
          bytes: v.bytes === null ? null : String(v.bytes),
          hardBytes: v.hardBytes === null ? null : String(v.hardBytes),
          softBytes: v.softBytes === null ? null : String(v.softBytes),
          growthBytes: v.bytes !== null && v.weekStartBytes !== null ? String(v.bytes - v.weekStartBytes) : null,
          fullAt: f ? f.fullAt.toISOString() : null,
          reclaimableBytes: String(v.reclaimableBytes),
        };
      }),
    };
    return this.store.transaction(async ({ store, trx }) => {
      if (!(await store.claimDigestWeek(tenantId, week))) return false;
      const found: NoticeFinding[] = [];
      for (const v of volumes.slice(0, 10)) found.push(...(await this.findings.top(trx, tenantId, v.id, 3)));
      found.sort((a, b) => (BigInt(b.reclaimableBytes) > BigInt(a.reclaimableBytes) ? 1 : BigInt(b.reclaimableBytes) < BigInt(a.reclaimableBytes) ? -1 : 0));
      const data = this.data(tenant, first, digest, found.slice(0, 3));
      return this.outbox.enqueue(trx, { eventKey: `${tenantId}:tenant.digest:${week}`, type: 'tenant.digest', audience: 'tenant', tenantId, volumeId: first.id, data });
    });
  }

  private data(tenant: { id: string; name: string }, first: { id: string; name: string }, digest: DigestData, findings: NoticeFinding[]): NoticeData {
    return {
      volume: { id: first.id, name: first.name },
      tenant,
      state: 'ok',
      reason: 'digest',
      usage: null,
      limits: { softBytes: null, hardBytes: null, softInodes: null, hardInodes: null },
      graceDeadline: null,
      forecast: null,
      topDirectories: [],
      toRelease: null,
      links: { enforcement: `${this.opts.publicUrl}/v1/volumes/${first.id}/enforcement`, request: `${this.opts.publicUrl}/v1/volumes/${first.id}/quota-requests` },
      detail: null,
      manualUntil: null,
      findings,
      digest,
    };
  }
}
