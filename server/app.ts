/**
 * Composition root: constructs every part once, in order, and wires them together. No logic
 * lives here beyond choosing what to construct; tests build the same app with their own config.
 */
import { buildRedisClients } from './composition/redis-clients.js';
import { buildDirectoryQuotas } from './composition/directory-quotas.js';
import { buildNotifications } from './composition/notifications.js';
import { createReadModels, createStores } from './composition/stores.js';
import { listFleet } from './volumes/fleet-read-model.js';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { auditRoutes } from './audit/audit-routes.js';
import type { VerifySettings } from './auth/tokens.js';
import type { AppConfig } from './config.js';
import { enforcementRoutes } from './enforcement/enforcement-routes.js';
import { Applier } from './enforcement/applier.js';
import { EnforcementService } from './enforcement/enforcement-service.js';
import { presentDryRun } from './enforcement/dry-run.js';
import { createHttpApp } from './http/create-http-app.js';
import { createHttpMetrics } from './http/metrics.js';
import { loadSpec } from './http/openapi.js';
import { jobRoutes } from './jobs/job-routes.js';
import { buildJobs } from './jobs/jobs.js';
import { registerJobMetrics } from './jobs/job-metrics.js';
import { Scheduler } from './jobs/scheduler.js';
import { EngineRegistry } from './meta/engine-registry.js';
import { JuiceFsMetadata } from './meta/juicefs-metadata.js';
import { MetadataRouter } from './meta/metadata-router.js';
import { RedisMetadata } from './meta/redis/redis-metadata.js';
import { parseRedisUrl } from './meta/redis/redis-url.js';
import { notificationRoutes } from './notifications/notification-routes.js';
import { channelRoutes } from './notifications/channels/channel-routes.js';
import { parseFailpoints, setFailpoints } from './lib/failpoints.js';
import { UsageService } from './quotas/usage-service.js';
import { SecretBox } from './storage/secret-box.js';
import { SeaweedStorage } from './storage/seaweedfs/seaweedfs-storage.js';
import { StorageFreeze } from './storage/storage-freeze.js';
import { StorageKeys } from './storage/storage-keys.js';
import { StorageOnboarding } from './storage/storage-onboarding.js';
import { StorageReconciler } from './storage/storage-reconciler.js';
import { StorageCredentials } from './storage/storage-credentials.js';
import { storageCredentialRoutes } from './storage/storage-credential-routes.js';
import { requestRoutes } from './requests/request-routes.js';
import { RequestService } from './requests/request-service.js';
import { RuleService } from './requests/rule-service.js';
import { RulePreview } from './requests/rule-preview.js';
import { usageRoutes } from './quotas/usage-routes.js';
import { FitService } from './quotas/fit-service.js';
import { fitRoutes } from './quotas/fit-routes.js';
import { WalkService } from './walks/walk-service.js';
import { InsightService } from './insights/insight-service.js';
import { insightRoutes } from './insights/insight-routes.js';
import { walkRoutes } from './walks/walk-routes.js';
import { TenantService } from './tenants/tenant-service.js';
import { tenantRoutes } from './tenants/tenant-routes.js';
import type { MetadataProvisioner } from './volumes/metadata-provisioner.js';
import type { VolumeMetadata } from './meta/volume-metadata.js';
import { MountService } from './volumes/mount-service.js';
import { mountRoutes } from './volumes/mount-routes.js';
import { VolumePurger } from './volumes/volume-purger.js';
import { VolumeService } from './volumes/volume-service.js';
import { volumeRoutes } from './volumes/volume-routes.js';
import { directoryQuotaRoutes } from './directory-quotas/directory-quota-routes.js';
import { KnexDirectoryQuotaStore } from './directory-quotas/knex-directory-quota-store.js';
import { DirectoryQuotaWalks } from './directory-quotas/directory-quota-walks.js';
import { directoryQuotaHistoryRoutes } from './directory-quotas/directory-quota-history-routes.js';
import type { WalkListener } from './walks/walk-service.js';

/** External resources the app runs on, opened by `main.ts` (or a test). */
export interface AppResources {
  config: AppConfig;
  log: Logger;
  db: Knex;
  /**
   * A pool of its own for /readyz (one connection): readiness says whether PostgreSQL answers,
   * and must not queue behind a burst of requests for the main pool. Defaults to `db`.
   */
  healthDb?: Knex;
  jwtSecret: string;
  /** HMAC key of outgoing webhooks (resolved by `main.ts` like the JWT secret). */
  webhookSecret: string;
  /** Key sealing tenants' storage secret keys at rest (needed when SeaweedFS is configured). */
  storageSecretKey?: string;
  /** Replaces the JuiceFS metadata access (tests of failure paths). */
  metadata?: VolumeMetadata;
  /** Wraps the real JuiceFS metadata access (tests inject faults around the real engines). */
  wrapMetadata?: (real: VolumeMetadata) => VolumeMetadata;
  /** Replaces only the formatting step of onboarding (tests of failure paths). */
  provisioner?: MetadataProvisioner;
}

/** Builds services, background workers and the HTTP app. */
export function buildApp(r: AppResources) {
  const c = r.config;
  setFailpoints(parseFailpoints(c.failpoints));
  const tokens: VerifySettings = { secret: r.jwtSecret, issuer: c.auth.issuer, maxLifetimeSeconds: c.auth.maxLifetimeSeconds };
  const metrics = createHttpMetrics();
  // Every store, and the named read models over them (server/composition/stores.ts).
  const stores = createStores(r.db);
  const {
    tenants: tenantStore,
    rules: ruleStore,
    jobRuns,
    audit: auditStore,
    volumes: volumeStore,
    requests: requestStore,
    walks: walkStore,
    usage: usageStore,
    enforcement: enforcementStore,
  } = stores;
  const tenants = new TenantService(tenantStore);
  const reads = createReadModels(stores);
  const engines = new EngineRegistry();
  const formatDefaults = { objectsDir: c.meta.objectsDir, trashDays: c.meta.trashDays, version: c.meta.formatVersion };
  const redisMeta = new RedisMetadata(formatDefaults, c.meta.redisUrl ? parseRedisUrl(c.meta.redisUrl, { requireDb: false }) : undefined, c.meta.timeoutMs, r.log);
  const realMetadata = r.metadata ?? new MetadataRouter(new JuiceFsMetadata(engines, formatDefaults), redisMeta, c.meta.timeoutMs);
  const metadata = r.wrapMetadata ? r.wrapMetadata(realMetadata) : realMetadata;
  // Object storage (SeaweedFS) when configured: buckets and identities at onboarding, freeze rules.
  const seaweed = c.storage ? new SeaweedStorage({ ...c.storage, timeoutMs: c.notify.timeoutMs }) : undefined;
  if (seaweed && !r.storageSecretKey) throw new Error('SeaweedFS is configured but no storage secret key was given');
  const identityStore = stores.identities;
  const tenantBuckets = (tenantId: string) => volumeStore.liveBuckets(tenantId);
  const onboarding = seaweed
    ? new StorageOnboarding({ identities: identityStore, buckets: tenantBuckets, storage: seaweed, box: new SecretBox(r.storageSecretKey!, c.storageSecretKeysPrevious), metadata })
    : undefined;
  const storageFreeze = seaweed ? new StorageFreeze(r.db, seaweed) : undefined;
  const volumes = new VolumeService({ store: volumeStore, config: c, provisioner: r.provisioner ?? onboarding ?? metadata, metadata, tenants: reads.tenants, enforcementStates: reads.states });
  // Mount instructions open tenants' sealed keys with the same key that sealed them.
  const mount = new MountService(volumes, metadata, c.meta, r.storageSecretKey ? new StorageKeys(identityStore, new SecretBox(r.storageSecretKey, c.storageSecretKeysPrevious)) : undefined);
  // Findings of every walk, computed in its success transaction (server/insights/).
  const insights = new InsightService(r.db, stores.insights, { volumes, tenants }, { trashDays: c.meta.trashDays, storedDirectories: c.walks.maxStoredDirectories, directoryWalks: 7 });
  // Walks also give directory quotas on volumes without native quotas their usage.
  const dirQuotaWalks = new DirectoryQuotaWalks((trx) => new KnexDirectoryQuotaStore(trx));
  const walkListener: WalkListener = {
    walkSucceeded: async (...a) => {
      await insights.walkSucceeded(...a);
      await dirQuotaWalks.walkSucceeded(...a);
    },
    // Quotas someone set with `juicefs quota set` since the last walk join as unmanaged ones.
    walkCommitted: async (v) => void (await dirQuotaMaintenance.discoverAsSystem(v.id)),
  };
  const walks = new WalkService({ store: walkStore, log: r.log, volumes, metadata, maxStoredDirectories: c.walks.maxStoredDirectories, listener: walkListener, enrich: c.walks.enrich });

  // Notices: outbox, dispatcher, channels, digest (server/composition/notifications.ts).
  const notify = buildNotifications({ config: c, db: r.db, log: r.log, stores, reads, tenants, webhookSecret: r.webhookSecret, registry: metrics.registry });
  const { email, channels, dispatcher, outbox, digest, notifications } = notify;
  const usage = new UsageService({
    db: r.db,
    store: usageStore,
    volumes,
    walks,
    states: reads.states,
    requests: reads.requests,
    forecastWindowDays: c.enforcement.forecastWindowDays,
    hysteresis: c.enforcement.hysteresis,
    publicUrl: c.publicUrl,
  });
  // Pre-flight checks read the counters and the JuiceFS setting; they write nothing.
  const fit = new FitService({ volumes, usage, metadata });
  const layers = stores.layers;
  const applier = new Applier({
    log: r.log.child({ component: 'applier' }),
    layers,
    desired: (id) => enforcementStore.findState(id),
    metadata,
    volumes,
    storage: storageFreeze,
    backoffMs: c.enforcement.applyBackoffMs,
  });
  const enforcement = new EnforcementService({
    db: r.db,
    states: enforcementStore,
    log: r.log.child({ component: 'enforcement' }),
    volumes,
    metadata,
    outbox,
    applier,
    layers,
    usage,
    walks,
    reads,
    storage: storageFreeze,
    opts: { ...c.enforcement, publicUrl: c.publicUrl, storageLayer: !!storageFreeze },
    registry: metrics.registry,
  });
  const rules = new RuleService(ruleStore);
  // Directory, user and group quotas inside volumes (server/composition/directory-quotas.ts).
  const dq = buildDirectoryQuotas({ config: c, db: r.db, log: r.log, engines, formatDefaults, redisMeta, outbox, volumes });
  const { service: directoryQuotas, maintenance: dirQuotaMaintenance, applier: dirQuotaApplier, enforcer: dirQuotaEnforcer, store: dirQuotaStore, history: dirQuotaHistory } = dq;
  // Quota requests for volumes and for directory quotas (a directory's grant goes through its service).
  const requests = new RequestService({
    store: requestStore,
    rules: ruleStore,
    db: r.db,
    log: r.log.child({ component: 'requests' }),
    volumes,
    metadata,
    enforcement,
    outbox,
    directoryQuotas,
    reads,
    tenants: reads.tenants,
    ceiling: c.quotas,
    publicUrl: c.publicUrl,
  });
  // Dry runs of rule edits: the tier's pending and recent requests (volumes' and directories') judged with and without the rule.
  const rulePreview = new RulePreview({ requests: requestStore, rules: ruleStore, tenants, volumes, dirs: directoryQuotas });

  // The scheduler's leases and the rate limits, over Redis when there is one (server/composition/redis-clients.ts).
  const { redis, rateRedis, rateLimiter, leaseFor } = buildRedisClients(c, r.log);
  // Key rotation: new keys sealed like onboarding's; previous ones revoked by the reconcile pass after the overlap.
  const storageKeyBox = seaweed ? { storage: seaweed, box: new SecretBox(r.storageSecretKey!, c.storageSecretKeysPrevious) } : undefined;
  const credentials = new StorageCredentials({
    identities: identityStore,
    tenants: reads.tenants,
    buckets: tenantBuckets,
    log: r.log.child({ component: 'storage-credentials' }),
    seaweed: storageKeyBox,
    overlapMs: c.storageKeyOverlapMs,
  });
  const reconciler = new StorageReconciler({
    db: r.db,
    log: r.log.child({ component: 'reconciler' }),
    volumes,
    storage: seaweed,
    enforcement,
    outbox,
    usage,
    reads,
    gapFloor: c.storageGapFloor,
    credentials,
  });
  const directoryQuotaJobs = { pass: () => dirQuotaEnforcer.pass(), reconcile: () => dirQuotaApplier.reconcile(), downsample: (now: Date) => dirQuotaStore.downsampleSamples(now) };
  const jobs = buildJobs({ enforcement, requests, walks, reconciler, usage, directoryQuotas: directoryQuotaJobs, digest }, c.jobs, c.walks);
  registerJobMetrics(
    jobRuns,
    metrics.registry,
    jobs.map((j) => j.name),
  );
  const scheduler = new Scheduler(jobRuns, r.log.child({ component: 'scheduler' }), jobs, leaseFor, metrics.registry, Math.max(200, Math.floor(c.jobs.leaseTtlMs / 3)));

  const http = createHttpApp({
    log: r.log,
    db: r.healthDb ?? r.db,
    metrics,
    spec: loadSpec(),
    tokens,
    bodyLimit: c.http.bodyLimit,
    trustProxy: c.http.trustProxy,
    metricsToken: c.http.metricsToken,
    rateLimiter,
    routers: [
      tenantRoutes(tenants),
      storageCredentialRoutes(credentials),
      volumeRoutes({
        service: volumes,
        purger: new VolumePurger(volumeStore, volumes, metadata, enforcement, onboarding),
        idempotency: stores.idempotency,
        fleet: (q) => listFleet(r.db, q),
        afterCreate: async (id) => {
          await enforcement.reevaluate(id);
          // An adopted volume may hold quotas set with `juicefs quota set`: listed as unmanaged at once.
          await dirQuotaMaintenance.discoverAsSystem(id);
        },
      }),
      mountRoutes(mount),
      usageRoutes(usage),
      fitRoutes(fit),
      walkRoutes(walks),
      insightRoutes(insights),
      enforcementRoutes(enforcement),
      requestRoutes(requests, rules, rulePreview),
      directoryQuotaRoutes(directoryQuotas, dirQuotaMaintenance),
      directoryQuotaHistoryRoutes(dirQuotaHistory),
      notificationRoutes(notifications),
      channelRoutes(channels),
      jobRoutes(jobRuns, scheduler, {
        counters: async () => presentDryRun('counters', new Date(), await enforcement.dryRun('counters')),
        enforce: async () => presentDryRun('enforce', new Date(), await enforcement.dryRun('enforce')),
      }),
      auditRoutes(auditStore),
    ],
  });

  /** Boot-time recovery and background work: interrupted walks and runs, cron, the dispatcher. */
  const start = async () => {
    notify.logChannels();
    await walks.recover();
    const interrupted = await scheduler.recover(!!redis);
    if (c.jobs.enabled) {
      scheduler.start();
      // A nightly walk cut off by a restart resumes now rather than tomorrow night: volumes
      // walked before the cut are skipped by the job itself.
      const [last] = await jobRuns.latest({ job: 'walks', perJob: 1 });
      if (interrupted && last?.state === 'failed') void scheduler.trigger('walks', 'schedule').catch((err) => r.log.error({ err }, 'resuming walks failed'));
    }
    dispatcher.start();
  };
  /** Stops background work and closes engine clients; the caller closes the database. */
  const close = async () => {
    await scheduler.stop();
    await applier.close();
    await dispatcher.stop();
    await walks.close();
    await engines.close();
    await redisMeta.close();
    email?.close();
    seaweed?.close();
    redis?.disconnect();
    rateRedis?.disconnect();
  };
  return {
    http,
    tokens,
    services: {
      directoryQuotas,
      dirQuotaMaintenance,
      dirQuotaApplier,
      dirQuotaEnforcer,
      tenants,
      volumes,
      walks,
      insights,
      enforcement,
      applier,
      usage,
      requests,
      rules,
      notifications,
      dispatcher,
      scheduler,
      reconciler,
      onboarding,
      storageFreeze,
      channels,
      digest,
    },
    start,
    close,
  };
}
