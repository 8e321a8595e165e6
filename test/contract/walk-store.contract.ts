/**
 * The contract every {@link WalkStore} keeps, run against the PostgreSQL store
 * (test/e2e/knex-feature-stores.e2e.test.ts) and the in-memory fake
 * (test/unit/walks/fake-walk-store.test.ts), so the fake the service's unit tests use cannot
 * drift from the real thing. Tests share a store: each walks volumes of its own. Walks finished
 * one after another must finish at increasing instants (the fake's clock ticks for it).
 */
import { beforeEach, describe, expect, it } from 'vitest';
import type { DirectoryUsage } from '../../server/meta/volume-metadata.js';
import type { NewWalk, WalkStore } from '../../server/walks/walk-store.js';

/** A store under test. */
export interface WalkStoreSubject {
  store: WalkStore;
  /** Audit actions written so far about the entity, oldest first. */
  auditActions(entityId: string): Promise<string[]>;
  /** A volume that may be walked (PostgreSQL: its tenant and volume rows). */
  volume(): Promise<{ tenantId: string; volumeId: string }>;
}

const actor = { sub: 'system:walker', role: 'system' };
const rand = () => Math.random().toString(36).slice(2, 12);

/** A directory of a walk; plain lowercase names, which sort alike under any collation. */
export const directory = (path: string, o: Partial<DirectoryUsage> = {}): DirectoryUsage => ({
  inode: BigInt(path.length * 1000 + path.charCodeAt(path.length - 1)),
  pathBase64: Buffer.from(path).toString('base64'),
  path,
  depth: path === '/' ? 0 : path.split('/').length - 1,
  inTrash: false,
  bytes: 4096n,
  logicalBytes: 100n,
  inodes: 1n,
  files: 0n,
  dirs: 0n,
  directBytes: 0n,
  directInodes: 0n,
  ...o,
});

/** Registers the contract suite for one implementation. */
export function walkStoreContract(name: string, make: () => Promise<WalkStoreSubject>): void {
  describe(`WalkStore contract: ${name}`, () => {
    let s: WalkStoreSubject;
    let tenantId: string;
    let volumeId: string;
    let base: string;
    let n = 0;
    /** A walk to request of the test's volume (or another); ids of one test sort in request order. */
    const walk = (o: Partial<NewWalk> = {}): NewWalk => ({ id: `wlk_${base}${String(++n).padStart(3, '0')}`, volumeId, tenantId, requestedBy: 'root', ...o });
    /** Inserts a walk and takes it to `succeeded`, as a walk's run does. */
    const succeeded = async (o: Partial<NewWalk> = {}, result: Record<string, unknown> = {}) => {
      const w = (await s.store.insert(walk(o)))!;
      await s.store.update(w.id, { state: 'running', started: true });
      await s.store.update(w.id, { state: 'succeeded', finished: true, result });
      return w.id;
    };
    beforeEach(async () => {
      s = await make();
      ({ tenantId, volumeId } = await s.volume());
      base = rand();
    });

    it('stores a requested walk as queued and finds it by tenant, volume and id', async () => {
      const w = await s.store.insert(walk({ requestedBy: 'eve' }));
      expect(w).toMatchObject({ volumeId, tenantId, state: 'queued', requestedBy: 'eve', keysRead: 0, result: null, error: null, startedAt: null, finishedAt: null });
      expect(w!.createdAt).toBeInstanceOf(Date);
      expect(await s.store.find(tenantId, volumeId, w!.id)).toEqual(w);
      expect(await s.store.findActive(tenantId, volumeId)).toEqual(w);
      expect(await s.store.find(`${tenantId}x`, volumeId, w!.id)).toBeUndefined();
      expect(await s.store.find(tenantId, `${volumeId}x`, w!.id)).toBeUndefined();
      expect(await s.store.find(tenantId, volumeId, `${w!.id}x`)).toBeUndefined();
    });

    it('keeps one queued or running walk per volume; an ended one makes room for the next', async () => {
      const first = (await s.store.insert(walk()))!;
      expect(await s.store.insert(walk())).toBeUndefined();
      await s.store.update(first.id, { state: 'running', started: true });
      expect(await s.store.insert(walk())).toBeUndefined();
      const other = await s.volume();
      expect(await s.store.insert(walk(other))).toBeDefined();
      await s.store.update(first.id, { state: 'failed', finished: true, error: 'boom' });
      expect(await s.store.findActive(tenantId, volumeId)).toBeUndefined();
      const next = await s.store.insert(walk());
      expect((await s.store.findActive(tenantId, volumeId))?.id).toBe(next!.id);
    });

    it('records progress, the start and end instants, the result as JSON and the error', async () => {
      const w = (await s.store.insert(walk()))!;
      await s.store.update(w.id, { state: 'running', started: true });
      await s.store.update(w.id, { keysRead: 1234 });
      const running = (await s.store.find(tenantId, volumeId, w.id))!;
      expect(running).toMatchObject({ state: 'running', keysRead: 1234, finishedAt: null, error: null });
      expect(running.startedAt).toBeInstanceOf(Date);
      await s.store.update(w.id, { state: 'succeeded', finished: true, keysRead: 2000, result: { directories: 3, totals: { bytes: '9007199254740993' }, mismatch: null } });
      const done = (await s.store.find(tenantId, volumeId, w.id))!;
      expect(done).toMatchObject({ state: 'succeeded', keysRead: 2000, result: { directories: 3, totals: { bytes: '9007199254740993' }, mismatch: null }, startedAt: running.startedAt });
      expect(done.finishedAt!.getTime()).toBeGreaterThanOrEqual(running.startedAt!.getTime());
      await s.store.update(`${w.id}x`, { state: 'failed' });
      const failed = (await s.store.insert(walk()))!;
      await s.store.update(failed.id, { state: 'failed', finished: true, error: 'metadata unreachable' });
      expect(await s.store.find(tenantId, volumeId, failed.id)).toMatchObject({ state: 'failed', error: 'metadata unreachable' });
    });

    it('finds the latest successful walk of a volume, and of each of many volumes', async () => {
      expect(await s.store.latestSucceeded(tenantId, volumeId)).toBeUndefined();
      await succeeded({}, { n: 1 });
      const newest = await succeeded({}, { n: 2 });
      const failed = (await s.store.insert(walk()))!;
      await s.store.update(failed.id, { state: 'failed', finished: true, error: 'boom' });
      expect((await s.store.latestSucceeded(tenantId, volumeId))?.id).toBe(newest);
      expect(await s.store.latestSucceeded(`${tenantId}x`, volumeId)).toBeUndefined();
      const other = await s.volume();
      const otherWalk = await succeeded(other);
      const never = await s.volume();
      const latest = await s.store.latest([volumeId, other.volumeId, never.volumeId]);
      expect([...latest.keys()].sort()).toEqual([volumeId, other.volumeId].sort());
      expect(latest.get(volumeId)).toEqual({ walkId: newest, finishedAt: expect.any(Date), result: { n: 2 } });
      expect(latest.get(other.volumeId)).toMatchObject({ walkId: otherWalk, result: {} });
      expect(await s.store.latest([])).toEqual(new Map());
    });

    it('fails every queued or running walk with the reason given, and leaves ended ones alone', async () => {
      const queued = (await s.store.insert(walk()))!;
      const other = await s.volume();
      const running = (await s.store.insert(walk(other)))!;
      await s.store.update(running.id, { state: 'running', started: true });
      const third = await s.volume();
      const done = await succeeded(third);
      expect(await s.store.failActive('interrupted')).toBeGreaterThanOrEqual(2);
      for (const w of [queued, running]) {
        const after = (await s.store.find(w.tenantId, w.volumeId, w.id))!;
        expect(after).toMatchObject({ state: 'failed', error: 'interrupted' });
        expect(after.finishedAt).toBeInstanceOf(Date);
      }
      expect((await s.store.find(third.tenantId, third.volumeId, done))?.state).toBe('succeeded');
      expect(await s.store.failActive('again')).toBe(0);
    });

    it("stores a walk's directories exactly and lists the largest down to a depth, trash excluded", async () => {
      const w = (await s.store.insert(walk()))!;
      const big = 2n ** 60n + 1n;
      const dirs = [
        directory('/', { bytes: big, logicalBytes: 10n, inodes: 10n, files: 6n, dirs: 4n, directBytes: 4096n, directInodes: 1n }),
        directory('/a', { bytes: 300n, logicalBytes: 1n, inodes: 2n }),
        directory('/b', { bytes: 300n, logicalBytes: 3n, inodes: 9n }),
        directory('/c', { bytes: 100n, logicalBytes: 2n, inodes: 5n }),
        directory('/a/deep', { bytes: 999n, inodes: 99n }),
        directory('/.trash', { bytes: 5000n, inTrash: true }),
        directory('/d', { bytes: 200n, logicalBytes: 1n, profile: { ageBytes: [1] } as unknown as DirectoryUsage['profile'] }),
      ];
      await s.store.insertDirectories(w.id, dirs);
      const byBytes = await s.store.topDirectories(w.id, { maxDepth: 1, limit: 4, sort: 'bytes' });
      // Ties by path; the profile is not stored.
      expect(byBytes).toEqual([dirs[0]!, dirs[1]!, dirs[2]!, dirs[6]!].map(({ profile: _, ...d }) => d));
      expect((await s.store.topDirectories(w.id, { maxDepth: 1, limit: 2, sort: 'inodes' })).map((d) => d.path)).toEqual(['/', '/b']);
      expect((await s.store.topDirectories(w.id, { maxDepth: 1, limit: 10, sort: 'logicalBytes' })).map((d) => d.path)).toEqual(['/', '/b', '/c', '/a', '/d']);
      expect((await s.store.topDirectories(w.id, { maxDepth: 2, limit: 1, sort: 'inodes' })).map((d) => d.path)).toEqual(['/a/deep']);
      expect(await s.store.topDirectories(`${w.id}x`, { maxDepth: 9, limit: 10, sort: 'bytes' })).toEqual([]);
    });

    it('stores thousands of directories of a walk, and refuses one directory twice', async () => {
      const w = (await s.store.insert(walk()))!;
      const many = Array.from({ length: 2500 }, (_, i) => directory(`/d${String(i).padStart(4, '0')}`, { inode: BigInt(i + 2), bytes: BigInt(i) }));
      await s.store.insertDirectories(w.id, many);
      const top = await s.store.topDirectories(w.id, { maxDepth: 1, limit: 3000, sort: 'bytes' });
      expect(top).toHaveLength(2500);
      expect(top[0]!.path).toBe('/d2499');
      const twice = (await s.store.insert(walk(await s.volume())))!;
      await expect(s.store.insertDirectories(twice.id, [directory('/x'), directory('/x')])).rejects.toThrow();
      expect(await s.store.topDirectories(twice.id, { maxDepth: 1, limit: 10, sort: 'bytes' })).toEqual([]);
    });

    it('commits a transaction with its audit rows, and rolls walk, directories and audit back when it throws', async () => {
      const w = await s.store.transaction(async ({ store, audit, trx }) => {
        expect(trx).toBeDefined();
        const created = (await store.insert(walk()))!;
        await audit(actor, { action: 'walk.requested', entityType: 'walk', entityId: created.id, tenantId, before: null, after: null });
        return created;
      });
      expect(await s.auditActions(w.id)).toEqual(['walk.requested']);
      const failing = s.store.transaction(async ({ store, audit }) => {
        await store.insertDirectories(w.id, [directory('/a')]);
        await store.update(w.id, { state: 'succeeded', finished: true, result: { n: 1 } });
        await audit(actor, { action: 'walk.succeeded', entityType: 'walk', entityId: w.id, tenantId, before: null, after: null });
        throw new Error('listener failed');
      });
      await expect(failing).rejects.toThrow('listener failed');
      expect(await s.store.find(tenantId, volumeId, w.id)).toEqual(w);
      expect(await s.store.topDirectories(w.id, { maxDepth: 9, limit: 10, sort: 'bytes' })).toEqual([]);
      expect(await s.auditActions(w.id)).toEqual(['walk.requested']);
      const spare = await s.volume();
      const lost = s.store.transaction(async ({ store }) => {
        await store.insert(walk(spare));
        throw new Error('refused');
      });
      await expect(lost).rejects.toThrow('refused');
      expect(await s.store.findActive(spare.tenantId, spare.volumeId)).toBeUndefined();
    });

    it("reads and writes in a caller's transaction through `joined`", async () => {
      const w = await s.store.transaction(async ({ trx }) => {
        const joined = s.store.joined(trx);
        const created = (await joined.store.insert(walk()))!;
        await joined.audit(actor, { action: 'walk.requested', entityType: 'walk', entityId: created.id, tenantId, before: null, after: null });
        expect((await joined.store.findActive(tenantId, volumeId))?.id).toBe(created.id);
        return created;
      });
      expect((await s.store.find(tenantId, volumeId, w.id))?.state).toBe('queued');
      expect(await s.auditActions(w.id)).toEqual(['walk.requested']);
    });
  });
}
