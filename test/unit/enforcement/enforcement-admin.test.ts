/**
 * Admin freeze and unfreeze over the in-memory enforcement and layer stores: the state and its
 * transition are written together, JuiceFS is clamped after commit, and an unfreeze lets the
 * policy decide on a fresh reading. The metadata, the outbox and the audit log are small stubs.
 */
import type { Knex } from 'knex';
import { pino } from 'pino';
import client from 'prom-client';
import { beforeEach, describe, expect, it } from 'vitest';
import { Applier } from '../../../server/enforcement/applier.js';
import { EnforcementService, type EnforcementOptions } from '../../../server/enforcement/enforcement-service.js';
import { FakeEnforcementStore } from '../../../server/enforcement/fake-enforcement-store.js';
import { FakeLayerStore } from '../../../server/enforcement/fake-layer-store.js';
import type { Volume } from '../../../server/volumes/volume.js';
import { actor, admin, rejectsWith } from '../../support/unit.js';

const log = pino({ level: 'silent' });
const volume: Volume = {
  id: 'vol_1',
  tenantId: 'acme',
  name: 'data',
  prefix: 'acme-data',
  engine: 'local',
  metaUrl: 'local://x?prefix=acme-data',
  state: 'active',
  stateDetail: null,
  quota: { softBytes: 800n, hardBytes: 1000n, softInodes: null, hardInodes: null, graceSeconds: 3600 },
  storage: { kind: 'file', bucket: null },
  requestHash: 'x',
  createdAt: new Date(0),
  updatedAt: new Date(0),
};
const opts: EnforcementOptions = {
  hysteresis: 0.02,
  maxReadingAgeMs: 15 * 60_000,
  mismatchTolerance: 0.1,
  forecastWindowDays: 7,
  forecastAlertDays: 3,
  publicUrl: 'https://headroom.example.com',
  storageLayer: false,
  verifyEveryMs: 3_600_000,
};

describe('EnforcementService admin freeze and unfreeze over in-memory stores', () => {
  let states: FakeEnforcementStore;
  let used: { usedBytes: bigint; usedInodes: bigint };
  let writes: { capacity: bigint; inodes: bigint }[];
  let audits: Record<string, unknown>[];
  let notices: string[];
  let enforcement: EnforcementService;
  beforeEach(() => {
    states = new FakeEnforcementStore();
    const layers = new FakeLayerStore();
    used = { usedBytes: 500n, usedInodes: 10n };
    writes = [];
    audits = [];
    notices = [];
    // Transactions run at once; the audit log is the one table written outside the stores.
    const trx = Object.assign((table: string) => ({ insert: async (row: Record<string, unknown>) => void audits.push({ table, ...row }) }), { raw: async () => undefined });
    const db = { transaction: async (fn: (t: unknown) => Promise<unknown>) => fn(trx) } as unknown as Knex;
    const metadata = {
      readUsage: async () => used,
      setLimits: async (_v: unknown, l: { capacity: bigint; inodes: bigint }) => {
        writes.push(l);
        return { changed: true };
      },
    } as never;
    const volumes = { get: async () => volume, find: async () => volume } as never;
    const outbox = { enqueue: async (_trx: unknown, n: { type: string }) => (notices.push(n.type), true) } as never;
    const applier = new Applier({ log, layers, desired: (id) => states.findState(id), metadata, volumes, backoffMs: 1000 });
    const reads = {
      volumes: { find: async () => volume },
      usage: { latest: async () => new Map(), hourly: async () => new Map() },
      walks: { latest: async () => new Map(), topDirectories: async () => [] },
      tenants: { find: async () => undefined },
    } as never;
    const usage = { recordReadings: async () => undefined, latestReadings: async () => new Map() };
    enforcement = new EnforcementService({
      db,
      states,
      log,
      volumes,
      metadata,
      outbox,
      applier,
      layers,
      usage,
      walks: { latestWalks: async () => new Map() },
      reads,
      opts,
      registry: new client.Registry(),
    });
  });

  it('freezes at the current usage: state, transition, audit row and notice together, JuiceFS clamped after commit', async () => {
    await enforcement.freeze(actor, admin, volume.id, { reason: 'abuse' });
    const s = (await states.findState(volume.id))!;
    expect(s).toMatchObject({
      state: 'frozen',
      reason: 'manual_freeze',
      bytes: 500n,
      desiredCapacity: 500n,
      desiredInodes: 10n,
      metadataGeneration: 1n,
      manual: { reason: 'abuse', by: 'root', until: null },
    });
    expect((await states.listTransitions(volume.id, 10)).map((t) => [t.from, t.to, t.reason, t.actor, t.detail])).toEqual([['ok', 'frozen', 'manual_freeze', 'root', 'abuse']]);
    expect(audits).toMatchObject([{ table: 'audit_events', action: 'enforcement.transition', entity_id: volume.id }]);
    expect(notices).toEqual(['quota.frozen']);
    expect(writes).toEqual([{ capacity: 500n, inodes: 10n }]);
  });

  it('refuses an `until` in the past, changing nothing', async () => {
    await rejectsWith(enforcement.freeze(actor, admin, volume.id, { reason: 'abuse', until: new Date(Date.now() - 1000).toISOString() }), 400, 'validation_failed');
    expect(await states.findState(volume.id)).toBeUndefined();
  });

  it('unfreezes onto what the policy decides on a fresh reading', async () => {
    await enforcement.freeze(actor, admin, volume.id, { reason: 'abuse' });
    await enforcement.unfreeze(actor, admin, volume.id, { reason: 'sorted' });
    expect(await states.findState(volume.id)).toMatchObject({ state: 'ok', reason: 'manual_unfreeze', manual: null, metadataGeneration: 2n });
    // Over the hard limit: the volume stays frozen, now for that reason.
    await enforcement.freeze(actor, admin, volume.id, { reason: 'again' });
    used = { usedBytes: 1200n, usedInodes: 10n };
    await enforcement.unfreeze(actor, admin, volume.id, { reason: 'try' });
    expect(await states.findState(volume.id)).toMatchObject({ state: 'frozen', reason: 'hard_bytes_reached', manual: null });
    expect((await states.listTransitions(volume.id, 10)).map((t) => t.to)).toEqual(['frozen', 'frozen', 'ok', 'frozen']);
  });

  it('refuses to unfreeze a volume no admin froze', async () => {
    await rejectsWith(enforcement.unfreeze(actor, admin, volume.id, { reason: 'why' }), 409, 'not_manually_frozen');
    expect(await states.listTransitions(volume.id, 10)).toEqual([]);
  });
});
