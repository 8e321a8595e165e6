/**
 * Every PostgreSQL store of the features, built once over the pool, and the named read models
 * built over them: the one place that knows which implementation each port gets. Features see
 * only the interfaces (a lint rule keeps them from importing another feature's store).
 */
import type { Knex } from 'knex';
import { KnexAuditStore } from '../audit/knex-audit-store.js';
import { enforcementStates } from '../enforcement/enforcement-states.js';
import { KnexEnforcementStore } from '../enforcement/knex-enforcement-store.js';
import { KnexLayerStore } from '../enforcement/knex-layer-store.js';
import { KnexIdempotencyStore } from '../http/idempotency-store.js';
import { KnexInsightStore } from '../insights/knex-insight-store.js';
import { KnexJobRunStore } from '../jobs/knex-job-run-store.js';
import { KnexChannelStore } from '../notifications/channels/knex-channel-store.js';
import { KnexNotificationStore } from '../notifications/knex-notification-store.js';
import { KnexUsageStore } from '../quotas/knex-usage-store.js';
import { usageReadModel } from '../quotas/usage-read-model.js';
import { pendingRequestReadModel } from '../requests/guidance.js';
import { KnexRequestStore } from '../requests/knex-request-store.js';
import { KnexRuleStore } from '../requests/knex-rule-store.js';
import { KnexIdentityStore } from '../storage/knex-identity-store.js';
import { KnexTenantStore } from '../tenants/knex-tenant-store.js';
import { tenantReadModel } from '../tenants/tenant-read-model.js';
import { KnexVolumeStore } from '../volumes/knex-volume-store.js';
import { volumeReadModel } from '../volumes/volume-read-model.js';
import { KnexWalkStore } from '../walks/knex-walk-store.js';
import { walkReadModel } from '../walks/walk-read-model.js';

/** The features' stores over one PostgreSQL pool. */
export function createStores(db: Knex) {
  return {
    tenants: new KnexTenantStore(db),
    rules: new KnexRuleStore(db),
    jobRuns: new KnexJobRunStore(db),
    audit: new KnexAuditStore(db),
    volumes: new KnexVolumeStore(db),
    requests: new KnexRequestStore(db),
    walks: new KnexWalkStore(db),
    usage: new KnexUsageStore(db),
    enforcement: new KnexEnforcementStore(db),
    layers: new KnexLayerStore(db),
    identities: new KnexIdentityStore(db),
    insights: new KnexInsightStore(db),
    channels: new KnexChannelStore(db),
    notifications: new KnexNotificationStore(db),
    idempotency: new KnexIdempotencyStore(db),
  };
}

/** The stores {@link createStores} builds. */
export type Stores = ReturnType<typeof createStores>;

/** Named read models: what a feature reads of another's tables inside its own transaction. */
export function createReadModels(s: Stores) {
  return {
    volumes: volumeReadModel(s.volumes),
    tenants: tenantReadModel(s.tenants),
    usage: usageReadModel(s.usage),
    walks: walkReadModel(s.walks),
    states: enforcementStates(s.enforcement),
    requests: pendingRequestReadModel(s.requests),
  };
}

/** The read models {@link createReadModels} builds. */
export type ReadModels = ReturnType<typeof createReadModels>;
