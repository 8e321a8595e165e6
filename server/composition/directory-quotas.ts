/**
 * Directory, user and group quotas wired once: their records through the real metadata access of
 * both layouts (a test's replacement `metadata` covers only volume calls), their store, whose
 * notices go through the outbox in the same transaction, the applier that writes records after
 * commit, the enforcer of the counters pass, and the use cases over them.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import type { AppConfig } from '../config.js';
import { DirectoryQuotaApplier } from '../directory-quotas/directory-quota-applier.js';
import { DirectoryQuotaEnforcer } from '../directory-quotas/directory-quota-enforcer.js';
import { DirectoryQuotaHistory } from '../directory-quotas/directory-quota-history.js';
import { DirectoryQuotaMaintenance } from '../directory-quotas/directory-quota-maintenance.js';
import { DirectoryQuotaService } from '../directory-quotas/directory-quota-service.js';
import { KnexDirectoryQuotaStore } from '../directory-quotas/knex-directory-quota-store.js';
import { DirQuotaRouter } from '../meta/dir-quota-router.js';
import type { EngineRegistry } from '../meta/engine-registry.js';
import { JuiceFsMetadata } from '../meta/juicefs-metadata.js';
import type { RedisMetadata } from '../meta/redis/redis-metadata.js';
import type { Outbox } from '../notifications/outbox.js';
import type { VolumeService } from '../volumes/volume-service.js';

/** What the directory-quota wiring is built from. */
export interface DirectoryQuotaWiringDeps {
  config: AppConfig;
  db: Knex;
  log: Logger;
  engines: EngineRegistry;
  formatDefaults: ConstructorParameters<typeof JuiceFsMetadata>[1];
  redisMeta: RedisMetadata;
  outbox: Pick<Outbox, 'enqueue'>;
  volumes: VolumeService;
}

/** Builds the directory-quota side of the app. */
export function buildDirectoryQuotas(d: DirectoryQuotaWiringDeps) {
  const c = d.config;
  // Directory quotas inside volumes: rows decided in PostgreSQL, JuiceFS records written after
  // commit. Always the real metadata access (a test's `metadata` replaces only volume calls).
  const tkvQuotaMeta = new JuiceFsMetadata(d.engines, d.formatDefaults);
  const dirQuotaMeta = new DirQuotaRouter(tkvQuotaMeta.quotas, d.redisMeta.quotas, c.meta.timeoutMs, { tkv: tkvQuotaMeta.userGroupQuotas, redis: d.redisMeta.userGroupQuotas });
  const dirQuotaStore = new KnexDirectoryQuotaStore(d.db, (trx, n) => d.outbox.enqueue(trx, n));
  const dirQuotaApplier = new DirectoryQuotaApplier(dirQuotaStore, dirQuotaMeta, (id) => d.volumes.find(id), d.log.child({ component: 'directory-quotas' }));
  const dirQuotaEnforcer = new DirectoryQuotaEnforcer({
    store: dirQuotaStore,
    metadata: dirQuotaMeta,
    applier: dirQuotaApplier,
    volumeRef: (id) => d.volumes.find(id),
    opts: { hysteresis: c.enforcement.hysteresis, maxReadingAgeMs: c.enforcement.maxReadingAgeMs, publicUrl: c.publicUrl },
    log: d.log.child({ component: 'directory-quota-enforcer' }),
  });
  const directoryQuotas = new DirectoryQuotaService({ store: dirQuotaStore, volumes: d.volumes, metadata: dirQuotaMeta, applier: dirQuotaApplier, enforcer: dirQuotaEnforcer, ceiling: c.quotas });
  const dirQuotaMaintenance = new DirectoryQuotaMaintenance({ store: dirQuotaStore, metadata: dirQuotaMeta }, directoryQuotas);
  const dirQuotaHistory = new DirectoryQuotaHistory({ store: dirQuotaStore, volumes: d.volumes, quotas: directoryQuotas, forecastWindowDays: c.enforcement.forecastWindowDays });
  return { meta: dirQuotaMeta, store: dirQuotaStore, applier: dirQuotaApplier, enforcer: dirQuotaEnforcer, service: directoryQuotas, maintenance: dirQuotaMaintenance, history: dirQuotaHistory };
}
