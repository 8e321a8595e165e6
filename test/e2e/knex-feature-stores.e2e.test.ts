/**
 * The knex stores of tenants, volumes, quota requests and rules, walks, job runs, the audit log, notifications,
 * storage identities, usage readings and enforcement states against real PostgreSQL,
 * through the same contract suites their in-memory fakes pass (test/unit/<feature>/fake-<name>-store.test.ts).
 * One database for all: every suite keeps to rows of its own.
 */
import { afterAll, beforeAll, describe, it } from 'vitest';
import { recordAudit } from '../../server/audit/audit-log.js';
import { KnexAuditStore } from '../../server/audit/knex-audit-store.js';
import { KnexJobRunStore } from '../../server/jobs/knex-job-run-store.js';
import { KnexNotificationStore } from '../../server/notifications/knex-notification-store.js';
import { KnexIdentityStore } from '../../server/storage/knex-identity-store.js';
import { KnexRuleStore } from '../../server/requests/knex-rule-store.js';
import { KnexTenantStore } from '../../server/tenants/knex-tenant-store.js';
import { KnexRequestStore } from '../../server/requests/knex-request-store.js';
import { KnexVolumeStore } from '../../server/volumes/knex-volume-store.js';
import { KnexWalkStore } from '../../server/walks/knex-walk-store.js';
import { KnexUsageStore } from '../../server/quotas/knex-usage-store.js';
import { KnexEnforcementStore } from '../../server/enforcement/knex-enforcement-store.js';
import { auditStoreContract } from '../contract/audit-store.contract.js';
import { identityStoreContract } from '../contract/identity-store.contract.js';
import { jobRunStoreContract } from '../contract/job-run-store.contract.js';
import { notificationStoreContract } from '../contract/notification-store.contract.js';
import { ruleStoreContract } from '../contract/rule-store.contract.js';
import { tenantStoreContract } from '../contract/tenant-store.contract.js';
import { requestStoreContract } from '../contract/request-store.contract.js';
import { volumeStoreContract } from '../contract/volume-store.contract.js';
import { walkStoreContract } from '../contract/walk-store.contract.js';
import { usageStoreContract } from '../contract/usage-store.contract.js';
import { enforcementStoreContract } from '../contract/enforcement-store.contract.js';
import { createTestDatabase, pgAvailable, type TestDatabase } from '../support/pg.js';

if (!pgAvailable()) describe.skip('feature store contracts: PostgreSQL', () => it('needs PostgreSQL', () => {}));
else {
  let d: TestDatabase;
  beforeAll(async () => {
    d = await createTestDatabase(4);
  });
  afterAll(async () => d?.drop());
  const auditActions = async (entityId: string) => (await d.db('audit_events').where({ entity_id: entityId }).orderBy('id').select('action')).map((r: { action: string }) => r.action);

  tenantStoreContract('PostgreSQL (knex)', async () => ({ store: new KnexTenantStore(d.db), auditActions }));
  ruleStoreContract('PostgreSQL (knex)', async () => ({ store: new KnexRuleStore(d.db), auditActions }));
  jobRunStoreContract('PostgreSQL (knex)', async () => new KnexJobRunStore(d.db));
  // Volumes and requests need their owners' rows (foreign keys): each test makes its own.
  const tenant = async () => {
    const id = `t${Math.random().toString(36).slice(2, 12)}`;
    await new KnexTenantStore(d.db).insert({ id, displayName: id, email: `${id}@example.com`, language: 'en', webhookUrl: null, tier: 'standard' });
    return id;
  };
  volumeStoreContract('PostgreSQL (knex)', async () => ({ store: new KnexVolumeStore(d.db), auditActions, tenant }));
  // Requests and walks need a volume's rows too.
  const volume = async () => {
    const tenantId = await tenant();
    const volumes = new KnexVolumeStore(d.db);
    const volumeId = `vol_${tenantId}`;
    await volumes.claimPrefix(tenantId, volumeId);
    await volumes.insert({
      id: volumeId,
      tenantId,
      name: 'v',
      prefix: tenantId,
      engine: 'local',
      metaUrl: `sqlite3:///m/${tenantId}.db`,
      quota: { softBytes: null, hardBytes: null, softInodes: null, hardInodes: null, graceSeconds: 0 },
      requestHash: 'h',
    });
    return { tenantId, volumeId };
  };
  requestStoreContract('PostgreSQL (knex)', async () => ({ store: new KnexRequestStore(d.db), auditActions, volume }));
  walkStoreContract('PostgreSQL (knex)', async () => ({ store: new KnexWalkStore(d.db), auditActions, volume }));
  notificationStoreContract('PostgreSQL (knex)', async () => ({ store: new KnexNotificationStore(d.db), auditActions, volume }));
  enforcementStoreContract('PostgreSQL (knex)', async () => ({ store: new KnexEnforcementStore(d.db), volume }));
  identityStoreContract('PostgreSQL (knex)', async () => ({ store: new KnexIdentityStore(d.db), auditActions, tenant }));
  // Usage rows join volumes (active, bucket): the contract names its volumes, made active here.
  usageStoreContract('PostgreSQL (knex)', async () => ({
    store: new KnexUsageStore(d.db),
    volume: async (volumeId, bucket) => {
      const tenantId = await tenant();
      const quota = { softBytes: null, hardBytes: null, softInodes: null, hardInodes: null, graceSeconds: 0 };
      const volumes = new KnexVolumeStore(d.db);
      await volumes.claimPrefix(volumeId, volumeId);
      await volumes.insert({ id: volumeId, tenantId, name: 'v', prefix: volumeId, engine: 'local', metaUrl: `sqlite3:///m/${volumeId}.db`, quota, requestHash: 'h' });
      await d
        .db('volumes')
        .where({ id: volumeId })
        .update({ state: 'active', storage_bucket: bucket ?? null });
    },
    deactivate: async (volumeId) => void (await d.db('volumes').where({ id: volumeId }).update({ state: 'deleting' })),
  }));
  auditStoreContract('PostgreSQL (knex)', async () => ({
    store: new KnexAuditStore(d.db),
    // The writer stamps `now()`; the contract's filters need chosen instants, set on the row just written.
    record: async (actor, e, at) => {
      await recordAudit(d.db, actor, e);
      await d.db('audit_events').where('id', d.db('audit_events').max('id')).update({ at });
    },
  }));
}
