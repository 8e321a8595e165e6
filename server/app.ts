/**
 * Composition root: constructs every part once, in order, and wires them together. No logic
 * lives here beyond choosing what to construct; tests build the same app with their own config.
 */
import { KnexIdempotencyStore } from './http/idempotency-store.js';
import { listFleet } from './volumes/fleet-read-model.js';
import { enforcementStates } from './enforcement/enforcement-states.js';
import { KnexEnforcementStore } from './enforcement/knex-enforcement-store.js';
import { usageReadModel } from './quotas/usage-read-model.js';
import { KnexUsageStore } from './quotas/knex-usage-store.js';
import { tenantReadModel } from './tenants/tenant-read-model.js';
import { volumeReadModel } from './volumes/volume-read-model.js';
import { KnexVolumeStore } from './volumes/knex-volume-store.js';
import { KnexRequestStore } from './requests/knex-request-store.js';
import { pendingRequestReadModel } from './requests/guidance.js';
import { KnexWalkStore } from './walks/knex-walk-store.js';
import { walkReadModel } from './walks/walk-read-model.js';
import { Redis } from 'ioredis';
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { auditRoutes } from './audit/audit-routes.js';
import { KnexAuditStore } from './audit/knex-audit-store.js';
import type { VerifySettings } from './auth/tokens.js';
import type { AppConfig } from './config.js';
import { enforcementRoutes } from './enforcement/enforcement-routes.js';
import { Applier } from './enforcement/applier.js';
import { EnforcementService } from './enforcement/enforcement-service.js';
import { presentDryRun } from './enforcement/dry-run.js';
import { KnexLayerStore } from './enforcement/knex-layer-store.js';
import { createHttpApp } from './http/create-http-app.js';
import { createHttpMetrics } from './http/metrics.js';
import { loadSpec } from './http/openapi.js';
import { jobRoutes } from './jobs/job-routes.js';
import { KnexJobRunStore } from './jobs/knex-job-run-store.js';
import { buildJobs, leaseNameOf } from './jobs/jobs.js';
import { registerJobMetrics } from './jobs/job-metrics.js';
import { LocalLease, RedisLease, type LocalLeaseRegistry } from './jobs/lease.js';
import { Scheduler } from './jobs/scheduler.js';
import { EngineRegistry } from './meta/engine-registry.js';
import { JuiceFsMetadata } from './meta/juicefs-metadata.js';
import { MetadataRouter } from './meta/metadata-router.js';
import { RedisMetadata } from './meta/redis/redis-metadata.js';
import { parseRedisUrl } from './meta/redis/redis-url.js';
import { Dispatcher } from './notifications/dispatcher.js';
import { notificationRoutes } from './notifications/notification-routes.js';
import { NotificationService } from './notifications/notification-service.js';
import { Outbox } from './notifications/outbox.js';
import { KnexNotificationStore } from './notifications/knex-notification-store.js';
import { EmailSender, WebhookSender } from './notifications/senders.js';
import { ChatSender } from './notifications/chat-senders.js';
import { channelRoutes } from './notifications/channels/channel-routes.js';
import { ChannelService } from './notifications/channels/channel-service.js';
import { KnexChannelStore } from './notifications/channels/knex-channel-store.js';
import { DigestService } from './notifications/digest.js';
import { FindingSource } from './notifications/finding-source.js';
import { OutboundGuard } from './lib/outbound-guard.js';
import { parseFailpoints, setFailpoints } from './lib/failpoints.js';
import { RedisWatch } from './lib/redis-watch.js';
import { LocalRateStore, RateLimiter, RedisRateStore } from './http/rate-limit.js';
import { UsageService } from './quotas/usage-service.js';
import { SecretBox } from './storage/secret-box.js';
import { SeaweedStorage } from './storage/seaweedfs/seaweedfs-storage.js';
import { StorageFreeze } from './storage/storage-freeze.js';
import { StorageKeys } from './storage/storage-keys.js';
import { StorageOnboarding } from './storage/storage-onboarding.js';
import { StorageReconciler } from './storage/storage-reconciler.js';
import { StorageCredentials } from './storage/storage-credentials.js';
import { KnexIdentityStore } from './storage/knex-identity-store.js';
import { storageCredentialRoutes } from './storage/storage-credential-routes.js';
import { requestRoutes } from './requests/request-routes.js';
import { RequestService } from './requests/request-service.js';
import { RuleService } from './requests/rule-service.js';
import { KnexRuleStore } from './requests/knex-rule-store.js';
import { RulePreview } from './requests/rule-preview.js';
import { usageRoutes } from './quotas/usage-routes.js';
import { FitService } from './quotas/fit-service.js';
import { fitRoutes } from './quotas/fit-routes.js';
import { WalkService } from './walks/walk-service.js';
import { InsightService } from './insights/insight-service.js';
import { KnexInsightStore } from './insights/knex-insight-store.js';
import { insightRoutes } from './insights/insight-routes.js';
import { walkRoutes } from './walks/walk-routes.js';
import { TenantService } from './tenants/tenant-service.js';
import { KnexTenantStore } from './tenants/knex-tenant-store.js';
import { tenantRoutes } from './tenants/tenant-routes.js';
import type { MetadataProvisioner } from './volumes/metadata-provisioner.js';
import type { VolumeMetadata } from './meta/volume-metadata.js';
import { MountService } from './volumes/mount-service.js';
import { mountRoutes } from './volumes/mount-routes.js';
import { VolumePurger } from './volumes/volume-purger.js';
import { VolumeService } from './volumes/volume-service.js';
import { volumeRoutes } from './volumes/volume-routes.js';
import { DirQuotaRouter } from './meta/dir-quota-router.js';
import { DirectoryQuotaApplier } from './directory-quotas/directory-quota-applier.js';
import { DirectoryQuotaEnforcer } from './directory-quotas/directory-quota-enforcer.js';
import { directoryQuotaRoutes } from './directory-quotas/directory-quota-routes.js';
import { DirectoryQuotaService } from './directory-quotas/directory-quota-service.js';
import { DirectoryQuotaMaintenance } from './directory-quotas/directory-quota-maintenance.js';
import { KnexDirectoryQuotaStore } from './directory-quotas/knex-directory-quota-store.js';
import { DirectoryQuotaWalks } from './directory-quotas/directory-quota-walks.js';
import { DirectoryQuotaHistory } from './directory-quotas/directory-quota-history.js';
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
  // Stores of the features that keep their tables behind an interface; services take them injected.
  const tenantStore = new KnexTenantStore(r.db);
  const ruleStore = new KnexRuleStore(r.db);
  const jobRuns = new KnexJobRunStore(r.db);
  const auditStore = new KnexAuditStore(r.db);
  const volumeStore = new KnexVolumeStore(r.db);
  const requestStore = new KnexRequestStore(r.db);
  const walkStore = new KnexWalkStore(r.db);
  const usageStore = new KnexUsageStore(r.db);
  const enforcementStore = new KnexEnforcementStore(r.db);
  const tenants = new TenantService(tenantStore);
  // Named read models: what a feature reads of another's tables inside its own transaction.
  const reads = {
    volumes: volumeReadModel(volumeStore),
    tenants: tenantReadModel(tenantStore),
    usage: usageReadModel(usageStore),
    walks: walkReadModel(walkStore),
    states: enforcementStates(enforcementStore),
    requests: pendingRequestReadModel(requestStore),
  };
  const engines = new EngineRegistry();
  const formatDefaults = { objectsDir: c.meta.objectsDir, trashDays: c.meta.trashDays, version: c.meta.formatVersion };
  const redisMeta = new RedisMetadata(formatDefaults, c.meta.redisUrl ? parseRedisUrl(c.meta.redisUrl, { requireDb: false }) : undefined, c.meta.timeoutMs, r.log);
  const realMetadata = r.metadata ?? new MetadataRouter(new JuiceFsMetadata(engines, formatDefaults), redisMeta, c.meta.timeoutMs);
  const metadata = r.wrapMetadata ? r.wrapMetadata(realMetadata) : realMetadata;
  // Object storage (SeaweedFS) when configured: buckets and identities at onboarding, freeze rules.
  const seaweed = c.storage ? new SeaweedStorage({ ...c.storage, timeoutMs: c.notify.timeoutMs }) : undefined;
  if (seaweed && !r.storageSecretKey) throw new Error('SeaweedFS is configured but no storage secret key was given');
  const identityStore = new KnexIdentityStore(r.db);
  const tenantBuckets = (tenantId: string) => volumeStore.liveBuckets(tenantId);
  const onboarding = seaweed
    ? new StorageOnboarding({ identities: identityStore, buckets: tenantBuckets, storage: seaweed, box: new SecretBox(r.storageSecretKey!, c.storageSecretKeysPrevious), metadata })
    : undefined;
  const storageFreeze = seaweed ? new StorageFreeze(r.db, seaweed) : undefined;
  const volumes = new VolumeService({ store: volumeStore, config: c, provisioner: r.provisioner ?? onboarding ?? metadata, metadata, tenants: reads.tenants, enforcementStates: reads.states });
  // Mount instructions open tenants' sealed keys with the same key that sealed them.
  const mount = new MountService(volumes, metadata, c.meta, r.storageSecretKey ? new StorageKeys(identityStore, new SecretBox(r.storageSecretKey, c.storageSecretKeysPrevious)) : undefined);
  // Findings of every walk, computed in its success transaction (server/insights/).
  const insights = new InsightService(r.db, new KnexInsightStore(r.db), { volumes, tenants }, { trashDays: c.meta.trashDays, storedDirectories: c.walks.maxStoredDirectories, directoryWalks: 7 });
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

  // Webhook targets are set by admins and the platform: never Headroom's own endpoints or the
  // platform's internal network unless OUTBOUND_ALLOW says so.
  const outbound = new OutboundGuard({
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
  const email = c.notify.smtpUrl ? new EmailSender(c.notify.smtpUrl, c.notify.smtpFrom, c.notify.timeoutMs) : undefined;
  // Tenants' chat channels (issue 18): addresses and secrets sealed at rest under the webhook
  // signing key's box (always resolved, unlike the storage key), unsealed at delivery.
  const channelStore = new KnexChannelStore(r.db);
  const notificationStore = new KnexNotificationStore(r.db);
  const channels = new ChannelService(r.db, channelStore, new SecretBox(r.webhookSecret), tenants);
  const findingSource = new FindingSource(new KnexInsightStore(r.db));
  const dispatcher = new Dispatcher(
    notificationStore,
    r.log.child({ component: 'notifications' }),
    { webhook: new WebhookSender(r.webhookSecret, c.notify.timeoutMs, outbound), email, chat: new ChatSender(outbound, c.notify.timeoutMs), channels },
    { maxAttempts: c.notify.maxAttempts, backoffMs: c.notify.backoffMs, pollMs: c.notify.pollMs, lockMs: Math.max(60_000, c.notify.timeoutMs * 3) },
    metrics.registry,
  );
  const outbox = new Outbox(
    {
      store: notificationStore,
      tenants: reads.tenants,
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
    db: r.db,
    store: notificationStore,
    outbox,
    findings: findingSource,
    opts: { publicUrl: c.publicUrl, forecastWindowDays: c.enforcement.forecastWindowDays },
  });
  const notifications = new NotificationService(notificationStore);
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
  const layers = new KnexLayerStore(r.db);
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
  // Directory quotas inside volumes: rows decided in PostgreSQL, JuiceFS records written after
  // commit. Always the real metadata access (a test's `metadata` replaces only volume calls).
  const tkvQuotaMeta = new JuiceFsMetadata(engines, formatDefaults);
  const dirQuotaMeta = new DirQuotaRouter(tkvQuotaMeta.quotas, redisMeta.quotas, c.meta.timeoutMs, { tkv: tkvQuotaMeta.userGroupQuotas, redis: redisMeta.userGroupQuotas });
  const dirQuotaStore = new KnexDirectoryQuotaStore(r.db, (trx, n) => outbox.enqueue(trx, n));
  const dirQuotaApplier = new DirectoryQuotaApplier(dirQuotaStore, dirQuotaMeta, (id) => volumes.find(id), r.log.child({ component: 'directory-quotas' }));
  const dirQuotaEnforcer = new DirectoryQuotaEnforcer({
    store: dirQuotaStore,
    metadata: dirQuotaMeta,
    applier: dirQuotaApplier,
    volumeRef: (id) => volumes.find(id),
    opts: { hysteresis: c.enforcement.hysteresis, maxReadingAgeMs: c.enforcement.maxReadingAgeMs, publicUrl: c.publicUrl },
    log: r.log.child({ component: 'directory-quota-enforcer' }),
  });
  const directoryQuotas = new DirectoryQuotaService({ store: dirQuotaStore, volumes, metadata: dirQuotaMeta, applier: dirQuotaApplier, enforcer: dirQuotaEnforcer, ceiling: c.quotas });
  const dirQuotaMaintenance = new DirectoryQuotaMaintenance({ store: dirQuotaStore, metadata: dirQuotaMeta }, directoryQuotas);
  const dirQuotaHistory = new DirectoryQuotaHistory({ store: dirQuotaStore, volumes, quotas: directoryQuotas, forecastWindowDays: c.enforcement.forecastWindowDays });
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

  // A command to a paused lease Redis times out (the run records it) instead of hanging the pass.
  const leaseCommandTimeout = Math.max(500, Math.floor(c.jobs.leaseTtlMs / 4));
  const leaseWatch = new RedisWatch(r.log, 'lease store');
  const redis = c.jobs.redisUrl ? leaseWatch.watch(new Redis(c.jobs.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true, commandTimeout: leaseCommandTimeout })) : undefined;
  // Rate-limit counts, shared by replicas through the same Redis: no offline queue and a short
  // command timeout, so a Redis outage costs a request at most 250 ms before the local fallback.
  const rateRedis = c.jobs.redisUrl ? new Redis(c.jobs.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, commandTimeout: 250 }) : undefined;
  const rateLimiter = new RateLimiter(rateRedis ? new RedisRateStore(rateRedis, new RedisWatch(r.log, 'rate limits')) : new LocalRateStore(), c.rateLimit);
  const localLeases: LocalLeaseRegistry = new Map();
  const leaseFor = (job: string) => (redis ? new RedisLease(redis, leaseNameOf(job), c.jobs.leaseTtlMs, { watch: leaseWatch }) : new LocalLease(leaseNameOf(job), localLeases));
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
        idempotency: new KnexIdempotencyStore(r.db),
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
    // One line per channel, so "why did nobody hear about it" is answered by the start log.
    const smtpHost = c.notify.smtpUrl ? new URL(c.notify.smtpUrl).host : undefined;
    r.log.info({ channel: 'email', enabled: !!email, smtp: smtpHost }, email ? `notifications by email: enabled (SMTP ${smtpHost})` : 'notifications by email: disabled (set SMTP_URL to enable)');
    r.log.info({ channel: 'webhook', enabled: true }, "notifications by webhook: enabled for tenants with a webhookUrl (signed with WEBHOOK_SECRET's key)");
    r.log.info(
      { channel: 'admins', email: !!c.notify.adminEmail, webhook: !!c.notify.adminWebhookUrl },
      c.notify.adminEmail || c.notify.adminWebhookUrl
        ? `admin notices: ${[c.notify.adminEmail && 'email', c.notify.adminWebhookUrl && 'webhook'].filter(Boolean).join(' and ')}`
        : 'admin notices: recorded only (set ADMIN_EMAIL or ADMIN_WEBHOOK_URL to deliver them)',
    );
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
