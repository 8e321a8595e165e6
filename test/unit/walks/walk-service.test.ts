/**
 * WalkService over the in-memory walk store, real volumes (VolumeService over its fake store)
 * and a fake VolumeMetadata whose walks the tests hold and release: one walk per volume at a
 * time, every state change audited, a walk's directories stored (capped) in its success
 * transaction with the listener's writes, failures and interrupted walks recorded, and walks
 * shown only to those who may see their volume.
 */
import { pino } from 'pino';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import type { Knex } from 'knex';
import { FAKE_TRX } from '../../../server/lib/in-memory-transactions.js';
import { FakeTenantStore } from '../../../server/tenants/fake-tenant-store.js';
import { tenantReadModel } from '../../../server/tenants/tenant-read-model.js';
import type { DirectoryUsage, VolumeMetadata, WalkOptions, WalkOutcome } from '../../../server/meta/volume-metadata.js';
import { FakeVolumeStore } from '../../../server/volumes/fake-volume-store.js';
import type { Volume } from '../../../server/volumes/volume.js';
import { VolumeService } from '../../../server/volumes/volume-service.js';
import { FakeWalkStore } from '../../../server/walks/fake-walk-store.js';
import { WalkService, type WalkListener } from '../../../server/walks/walk-service.js';
import { directory } from '../../contract/walk-store.contract.js';
import { actor, admin, engineer, rejectsWith, volumeConfig as config } from '../../support/unit.js';

/** Directories of a walk: three top levels, then three deep ones of which one is large. */
const DIRS: DirectoryUsage[] = [
  directory('/', { bytes: 100n, inodes: 100n }),
  directory('/a', { bytes: 90n, inodes: 60n }),
  directory('/a/b', { bytes: 85n, inodes: 55n }),
  directory('/a/b/c', { bytes: 80n, inodes: 1n }),
  directory('/a/b/d', { bytes: 1n, inodes: 2n }),
  directory('/a/b/e', { bytes: 2n, inodes: 3n }),
];

const outcomeOf = (dirs: DirectoryUsage[]): WalkOutcome => ({
  keysRead: 500,
  totals: { bytes: 100n, logicalBytes: 60n, inodes: 100n },
  trash: { bytes: 0n, inodes: 0n },
  counters: { usedBytes: 100n, usedInodes: 100n },
  mismatch: null,
  directories: dirs,
});

/** A fake metadata whose walks wait until the test ends them (`finish`/`fail`), or end at once when `hold` is off. */
class FakeWalks implements Pick<VolumeMetadata, 'readUsage' | 'walk'> {
  hold = false;
  usage = { usedBytes: 700n, usedInodes: 7n };
  readonly started: Array<{ volumeId: string; opts: WalkOptions }> = [];
  private pending = new Map<string, { resolve(o: WalkOutcome): void; reject(e: Error): void }>();
  next: () => Promise<WalkOutcome> = async () => outcomeOf(DIRS);

  async readUsage() {
    return this.usage;
  }

  walk(volume: { id: string }, opts: WalkOptions): Promise<WalkOutcome> {
    this.started.push({ volumeId: volume.id, opts });
    opts.onProgress?.(42);
    if (!this.hold) return this.next();
    return new Promise((resolve, reject) => this.pending.set(volume.id, { resolve, reject }));
  }

  finish(volumeId: string, o = outcomeOf(DIRS)) {
    this.pending.get(volumeId)!.resolve(o);
  }
}

describe('WalkService', () => {
  let store: FakeWalkStore;
  let volumeStore: FakeVolumeStore;
  let volumes: VolumeService;
  let metadata: FakeWalks;
  let calls: string[];
  let listener: WalkListener;
  let service: WalkService;
  let data: Volume;
  const make = (o: { maxStoredDirectories?: number } = {}) => new WalkService({ store, log: pino({ level: 'silent' }), volumes, metadata, listener, enrich: false, ...o });
  const walked = (volumeId: string, walkId: string, state: string) => vi.waitFor(async () => expect((await store.find('acme', volumeId, walkId))?.state).toBe(state));

  beforeEach(async () => {
    store = new FakeWalkStore();
    volumeStore = new FakeVolumeStore();
    const tenants = new FakeTenantStore();
    for (const id of ['acme', 'globex']) await tenants.insert({ id, displayName: id, email: `ops@${id}.example`, language: 'en', webhookUrl: null, tier: 'standard' });
    volumes = new VolumeService({ store: volumeStore, config, provisioner: { provision: async () => {} }, tenants: tenantReadModel(tenants), enforcementStates: { seed: async () => {} } });
    metadata = new FakeWalks();
    calls = [];
    listener = {
      walkSucceeded: async (_trx, v, walkId, outcome) => void calls.push(`succeeded ${v.id} ${walkId} ${outcome.directories.length}`),
      walkCommitted: async (v) => void calls.push(`committed ${v.id}`),
    };
    service = make();
    data = (await volumes.create(actor, 'acme', { name: 'data' })).volume;
  });

  describe('start', () => {
    it('queues one walk per volume at a time, audited once, and runs it in the background', async () => {
      metadata.hold = true;
      const walk = await service.start(actor, admin, data.id);
      expect(walk).toMatchObject({ volumeId: data.id, tenantId: 'acme', state: 'queued', requestedBy: 'root' });
      const again = await service.start(actor, admin, data.id);
      expect(again.id).toBe(walk.id);
      expect(await service.walkNow(data, {})).toBeUndefined();
      // Another volume is walked at the same time.
      const other = (await volumes.create(actor, 'acme', { name: 'other' })).volume;
      const second = await service.start(actor, admin, other.id);
      await vi.waitFor(() => expect(metadata.started.map((s) => s.volumeId)).toEqual([data.id, other.id]));
      expect(store.audits.map((a) => [a.action, a.entityId, a.actor.sub])).toEqual([
        ['walk.requested', walk.id, 'root'],
        ['walk.requested', second.id, 'root'],
      ]);
      expect(store.audits[0]).toMatchObject({ tenantId: 'acme', before: null, after: { volumeId: data.id, state: 'queued' } });
      expect((await service.get(admin, data.id, walk.id)).state).toBe('running');
      metadata.finish(data.id);
      await walked(data.id, walk.id, 'succeeded');
      const next = await service.start(actor, admin, data.id);
      expect(next.id).not.toBe(walk.id);
      metadata.finish(other.id);
      metadata.finish(data.id);
      await service.close();
    });

    it('refuses a volume that is not active (409) or not visible (404), writing nothing', async () => {
      await volumes.delete(actor, data.id);
      await rejectsWith(service.start(actor, admin, data.id), 409, 'volume_not_active');
      const live = (await volumes.create(actor, 'acme', { name: 'live' })).volume;
      await rejectsWith(service.start(actor, engineer('globex'), live.id), 404, 'volume_not_found');
      expect(store.audits).toEqual([]);
      expect(await store.findActive('acme', live.id)).toBeUndefined();
    });
  });

  describe('walkNow', () => {
    it('stores the directories capped by maxStoredDirectories, with the listener, in the success transaction', async () => {
      service = make({ maxStoredDirectories: 4 });
      const walk = (await service.walkNow(data, {}))!;
      expect(walk).toMatchObject({ state: 'succeeded', keysRead: 500, requestedBy: 'system:walker', error: null });
      expect(walk.result).toEqual({
        directories: 6,
        directoriesStored: 4,
        totals: { bytes: '100', logicalBytes: '60', inodes: '100' },
        trash: { bytes: '0', inodes: '0' },
        counters: { usedBytes: '100', usedInodes: '100' },
        mismatch: null,
      });
      expect(walk.startedAt).toBeInstanceOf(Date);
      expect(walk.finishedAt).toBeInstanceOf(Date);
      // The top levels, then the largest deep one.
      const { items } = await service.directories(admin, data.id, { maxDepth: 9, limit: 50, sort: 'bytes' });
      expect(items.map((d) => d.path)).toEqual(['/', '/a', '/a/b', '/a/b/c']);
      expect(calls).toEqual([`succeeded ${data.id} ${walk.id} 6`, `committed ${data.id}`]);
      expect(store.audits.map((a) => [a.action, a.actor.sub])).toEqual([
        ['walk.requested', 'system:walker'],
        ['walk.succeeded', 'system:walker'],
      ]);
      expect(store.audits[1]).toMatchObject({ entityId: walk.id, before: { state: 'running' }, after: { state: 'succeeded', directoriesStored: 4 } });
      expect(metadata.started[0]!.opts.enrich).toBe(false);
    });

    it('hands the listener the transaction the walk commits in, and keeps nothing of the walk when it throws', async () => {
      let seen: Knex.Transaction | undefined;
      listener = {
        walkSucceeded: async (trx) => {
          seen = trx;
          throw new Error('insights down');
        },
      };
      service = make();
      const walk = (await service.walkNow(data, {}))!;
      expect(seen).toBe(FAKE_TRX);
      expect(walk).toMatchObject({ state: 'failed', error: 'insights down', keysRead: 42 });
      expect(await service.directories(admin, data.id, { maxDepth: 9, limit: 50, sort: 'bytes' })).toEqual({ walk: null, items: [] });
      expect(await store.topDirectories(walk.id, { maxDepth: 9, limit: 50, sort: 'bytes' })).toEqual([]);
      expect(store.audits.map((a) => a.action)).toEqual(['walk.requested', 'walk.failed']);
    });

    it('records a failed walk with its error and the keys read so far', async () => {
      metadata.next = async () => Promise.reject(new Error('metadata unreachable'));
      const walk = (await service.walkNow(data, {}))!;
      expect(walk).toMatchObject({ state: 'failed', error: 'metadata unreachable', keysRead: 42, result: null });
      expect(walk.finishedAt).toBeInstanceOf(Date);
      expect(store.audits.at(-1)).toMatchObject({ action: 'walk.failed', entityId: walk.id, before: { state: 'running' }, after: { state: 'failed', error: 'metadata unreachable' } });
      expect(calls).toEqual([]);
      // The volume is free for the next walk.
      expect((await service.walkNow(data, {}))?.state).toBe('failed');
    });

    it('lists volumes due for a walk: those never walked or walked before the cutoff', async () => {
      const other = (await volumes.create(actor, 'acme', { name: 'other' })).volume;
      const walk = (await service.walkNow(data, {}))!;
      const latest = await service.latestWalks([data.id, other.id]);
      expect([...latest.keys()]).toEqual([data.id]);
      expect(latest.get(data.id)).toMatchObject({ walkId: walk.id, finishedAt: walk.finishedAt });
      const due = await service.dueForWalk(new Date(walk.finishedAt!.getTime() - 1000));
      expect({ ...due, due: due.due.map((v) => v.id) }).toEqual({ due: [other.id], volumes: 2, skipped: 1 });
      // Ids made in one millisecond need not sort in creation order.
      expect((await service.dueForWalk(new Date(walk.finishedAt!.getTime() + 1000))).due.map((v) => v.id).sort()).toEqual([data.id, other.id].sort());
    });
  });

  it('marks walks a restart interrupted as failed at boot, and leaves ended ones alone', async () => {
    const done = (await service.walkNow(data, {}))!;
    await store.insert({ id: 'wlk_queued', volumeId: 'vol_a', tenantId: 'acme', requestedBy: 'root' });
    await store.insert({ id: 'wlk_running', volumeId: 'vol_b', tenantId: 'acme', requestedBy: 'root' });
    await store.update('wlk_running', { state: 'running', started: true });
    await service.recover();
    for (const [volumeId, id] of [
      ['vol_a', 'wlk_queued'],
      ['vol_b', 'wlk_running'],
    ] as const) {
      expect(await store.find('acme', volumeId, id)).toMatchObject({ state: 'failed', error: 'interrupted: the server restarted during the walk' });
    }
    expect((await store.find('acme', data.id, done.id))?.state).toBe('succeeded');
  });

  describe('visibility', () => {
    it("shows a walk and its directories to engineers of the volume's tenant only", async () => {
      const walk = (await service.walkNow(data, {}))!;
      expect((await service.get(engineer('acme'), data.id, walk.id)).id).toBe(walk.id);
      expect((await service.directories(engineer('acme'), data.id, { maxDepth: 1, limit: 2, sort: 'inodes' })).items.map((d) => d.path)).toEqual(['/', '/a']);
      await rejectsWith(service.get(engineer('globex'), data.id, walk.id), 404, 'volume_not_found');
      await rejectsWith(service.directories(engineer('globex'), data.id, { maxDepth: 1, limit: 2, sort: 'bytes' }), 404, 'volume_not_found');
      await rejectsWith(service.get(admin, data.id, 'wlk_nope'), 404, 'walk_not_found');
    });

    it('reads the counters of an active volume only, and names the metadata when it fails', async () => {
      expect(await service.usageOf(data)).toMatchObject({ usedBytes: 700n, usedInodes: 7n, source: 'counters' });
      metadata.readUsage = async () => Promise.reject(new Error('connection refused'));
      await rejectsWith(service.usageOf(data), 503, 'metadata_unavailable');
      await rejectsWith(service.usageOf({ ...data, state: 'deleting' }), 409, 'volume_not_active');
    });
  });
});
