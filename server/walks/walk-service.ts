/**
 * Usage reads and directory walks for the API. A walk runs in the background after the request
 * that started it returns 202; its progress (keys read) is written every second, and its
 * per-directory results are stored in one transaction when it succeeds.
 */
import type { Knex } from 'knex';
import type { Logger } from 'pino';
import { ulid } from 'ulid';
import type { Actor } from '../audit/audit-log.js';
import type { Principal } from '../auth/principal.js';
import { DependencyUnavailableError } from '../lib/deadline.js';
import { errors } from '../lib/errors.js';
import type { VolumeMetadata, WalkOutcome } from '../meta/volume-metadata.js';
import type { Volume } from '../volumes/volume.js';
import type { VolumeService } from '../volumes/volume-service.js';
import type { DirectoryQuery, LatestWalk, Walk, WalkStore } from './walk-store.js';

/** What else a successful walk feeds, written in the walk's own success transaction (PostgreSQL only). */
export interface WalkListener {
  walkSucceeded(trx: Knex.Transaction, volume: Volume, walkId: string, outcome: WalkOutcome, walkedAt: Date): Promise<void>;
  /** After that transaction committed: work that reads external systems again (never inside it). */
  walkCommitted?(volume: Volume): Promise<void>;
}

/** The actor recorded for changes the walker makes on its own. */
const WALKER: Actor = { sub: 'system:walker', role: 'system' };

/** What a {@link WalkService} is built from. */
export interface WalkServiceDeps {
  /** The walks and their directories. */
  store: WalkStore;
  log: Logger;
  /** Whose volumes the caller may see, and the active ones the nightly job walks. */
  volumes: Pick<VolumeService, 'get' | 'listActive'>;
  /** The JuiceFS metadata: counters and walks. */
  metadata: Pick<VolumeMetadata, 'readUsage' | 'walk'>;
  /** Directories stored per walk beyond the top levels (the largest ones; see {@link keptDirectories}); default 20 000. */
  maxStoredDirectories?: number;
  /** Told of every successful walk inside its success transaction (the insights, directory-quota walks). */
  listener?: WalkListener;
  /** Walks collect file ages, sizes and types (WALK_ENRICH); default true. */
  enrich?: boolean;
}

/** Why a walk left queued or running by a previous process is failed at boot. */
const INTERRUPTED = 'interrupted: the server restarted during the walk';

/** Usage reads and walks. */
export class WalkService {
  private readonly running = new Map<string, { controller: AbortController; done: Promise<void> }>();
  private readonly store: WalkStore;
  private readonly log: Logger;
  private readonly volumes: WalkServiceDeps['volumes'];
  private readonly metadata: WalkServiceDeps['metadata'];
  private readonly maxStoredDirectories: number;
  private readonly listener: WalkListener | undefined;
  private readonly enrich: boolean;

  constructor(d: WalkServiceDeps) {
    this.store = d.store;
    this.log = d.log;
    this.volumes = d.volumes;
    this.metadata = d.metadata;
    this.maxStoredDirectories = d.maxStoredDirectories ?? 20_000;
    this.listener = d.listener;
    this.enrich = d.enrich ?? true;
  }

  /** The latest successful walk of each volume (what enforcement checks the counters against). */
  latestWalks(volumeIds: readonly string[]): Promise<Map<string, LatestWalk>> {
    return this.store.latest(volumeIds);
  }

  /**
   * Active volumes without a walk newer than `cutoff` (the nightly job's work list), with how many
   * were looked at and skipped. Resumable by construction: a walk cut short leaves its volume due.
   */
  async dueForWalk(cutoff: Date): Promise<{ due: Volume[]; volumes: number; skipped: number }> {
    const out = { due: [] as Volume[], volumes: 0, skipped: 0 };
    for (let afterId: string | undefined; ;) {
      const page = await this.volumes.listActive({ afterId, limit: 1000 });
      if (!page.length) return out;
      const walks = await this.store.latest(page.map((v) => v.id));
      for (const v of page) {
        out.volumes++;
        const w = walks.get(v.id);
        if (w && w.finishedAt.getTime() >= cutoff.getTime()) out.skipped++;
        else out.due.push(v);
      }
      afterId = page[page.length - 1]!.id;
    }
  }

  /** Called once at boot: walks cut off by a restart are marked failed, not left "running". */
  async recover(): Promise<void> {
    const n = await this.store.failActive(INTERRUPTED);
    if (n) this.log.warn({ walks: n }, 'marked interrupted walks as failed');
  }

  /** Current usage of a volume the caller may see, from the JuiceFS counters (cheap: two keys); 409 unless active. */
  async usageOf(v: Volume) {
    if (v.state !== 'active') throw errors.volumeNotActive(v.id, v.state);
    const u = await this.read(() => this.metadata.readUsage(v));
    return { usedBytes: u.usedBytes, usedInodes: u.usedInodes, source: 'counters' as const, readAt: new Date() };
  }

  /** Starts a walk (or returns the one already queued or running). */
  async start(actor: Actor, principal: Principal, volumeId: string): Promise<Walk> {
    const v = await this.activeVolume(principal, volumeId);
    const walk = await this.store.transaction(async ({ store, audit }) => {
      const created = await store.insert({ id: newWalkId(), volumeId, tenantId: v.tenantId, requestedBy: actor.sub });
      if (!created) return (await store.findActive(v.tenantId, volumeId))!;
      await audit(actor, { action: 'walk.requested', entityType: 'walk', entityId: created.id, tenantId: v.tenantId, before: null, after: { volumeId, state: 'queued' } });
      return created;
    });
    if (!this.running.has(walk.id) && walk.state === 'queued') {
      const controller = new AbortController();
      const done = this.run(walk, v, controller.signal).finally(() => this.running.delete(walk.id));
      this.running.set(walk.id, { controller, done });
    }
    return walk;
  }

  /**
   * Walks a volume now and waits for the end (the nightly job). Skips a volume already being
   * walked. `throttle` is awaited before each page of keys: the read budget.
   */
  async walkNow(v: Volume, opts: { signal?: AbortSignal; throttle?: (keys: number) => Promise<void> }): Promise<Walk | undefined> {
    const walk = await this.store.transaction(async ({ store, audit }) => {
      const created = await store.insert({ id: newWalkId(), volumeId: v.id, tenantId: v.tenantId, requestedBy: WALKER.sub });
      if (created) await audit(WALKER, { action: 'walk.requested', entityType: 'walk', entityId: created.id, tenantId: v.tenantId, before: null, after: { volumeId: v.id, state: 'queued' } });
      return created;
    });
    if (!walk) return undefined;
    await this.run(walk, v, opts.signal ?? new AbortController().signal, opts.throttle);
    return this.store.find(v.tenantId, v.id, walk.id);
  }

  /** One walk of a volume the caller may see. */
  async get(principal: Principal, volumeId: string, walkId: string): Promise<Walk> {
    const v = await this.volumes.get(principal, volumeId);
    const s = await this.store.find(v.tenantId, volumeId, walkId);
    if (!s) throw errors.walkNotFound(walkId);
    return s;
  }

  /** The latest walk's largest directories. */
  async directories(principal: Principal, volumeId: string, opts: DirectoryQuery) {
    const v = await this.volumes.get(principal, volumeId);
    const walk = await this.store.latestSucceeded(v.tenantId, volumeId);
    return { walk: walk ?? null, items: walk ? await this.store.topDirectories(walk.id, opts) : [] };
  }

  /** Aborts running walks and waits for them to record their end. */
  async close(): Promise<void> {
    for (const r of this.running.values()) r.controller.abort(new Error('server shutting down'));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  private async run(walk: Walk, v: Volume, signal: AbortSignal, throttle?: (keys: number) => Promise<void>): Promise<void> {
    let keysRead = 0;
    let lastFlush = Date.now();
    try {
      await this.store.update(walk.id, { state: 'running', started: true });
      const outcome = await this.metadata.walk(v, {
        signal,
        throttle,
        enrich: this.enrich,
        onProgress: (n) => {
          keysRead = n;
          if (Date.now() - lastFlush >= 1000) {
            lastFlush = Date.now();
            void this.store.update(walk.id, { keysRead: n }).catch(() => {});
          }
        },
      });
      const result = {
        directories: outcome.directories.length,
        directoriesStored: Math.min(outcome.directories.length, keptDirectories(outcome.directories, this.maxStoredDirectories).length),
        totals: jsonBig(outcome.totals),
        trash: jsonBig(outcome.trash),
        counters: jsonBig(outcome.counters),
        mismatch: outcome.mismatch && jsonBig(outcome.mismatch),
      };
      await this.store.transaction(async ({ store, audit, trx }) => {
        await store.insertDirectories(walk.id, keptDirectories(outcome.directories, this.maxStoredDirectories));
        await this.listener?.walkSucceeded(trx, v, walk.id, outcome, new Date());
        await store.update(walk.id, { state: 'succeeded', finished: true, keysRead: outcome.keysRead, result });
        await audit(WALKER, {
          action: 'walk.succeeded',
          entityType: 'walk',
          entityId: walk.id,
          tenantId: v.tenantId,
          before: { state: 'running' },
          after: { state: 'succeeded', ...result },
        });
      });
      if (outcome.mismatch) this.log.warn({ volumeId: v.id, walkId: walk.id, mismatch: jsonBig(outcome.mismatch) }, 'walk totals disagree with counters');
      // A failure here does not fail the walk, which is recorded; the next walk tries again.
      await this.listener?.walkCommitted?.(v).catch((err: unknown) => this.log.warn({ err, volumeId: v.id }, 'work after a walk failed'));
    } catch (err) {
      this.log.warn({ err, volumeId: v.id, walkId: walk.id }, 'walk failed');
      const error = (err as Error).message;
      await this.store
        .transaction(async ({ store, audit }) => {
          await store.update(walk.id, { state: 'failed', finished: true, keysRead, error });
          await audit(WALKER, { action: 'walk.failed', entityType: 'walk', entityId: walk.id, tenantId: v.tenantId, before: { state: 'running' }, after: { state: 'failed', error } });
        })
        .catch((e: unknown) => this.log.error({ err: e, walkId: walk.id }, 'could not record a failed walk'));
    }
  }

  private async activeVolume(principal: Principal, volumeId: string): Promise<Volume> {
    const v = await this.volumes.get(principal, volumeId);
    if (v.state !== 'active') throw errors.volumeNotActive(volumeId, v.state);
    return v;
  }

  private async read<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof DependencyUnavailableError) throw err; // unreachable or hung: 503 naming it
      throw errors.metadataUnavailable(`could not read the volume's metadata: ${(err as Error).message}`);
    }
  }
}

/** A new walk's id (ULID: ids sort by creation). */
const newWalkId = () => `wlk_${ulid().toLowerCase()}`;

/** bigint fields as decimal strings, so JSONB keeps them exactly. */
function jsonBig(o: object): Record<string, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, String(v)]));
}

/**
 * Which directories of a walk are stored: every directory down to depth 2 (what people browse),
 * then the largest by bytes and by inodes up to `max` in all. A volume with millions of
 * directories must not write millions of rows every night; what a user needs from a walk is
 * where the space and the files are, and those are the largest directories.
 */
export function keptDirectories<T extends { depth: number; bytes: bigint; inodes: bigint }>(dirs: T[], max: number): T[] {
  if (dirs.length <= max) return dirs;
  const kept = new Set(dirs.filter((d) => d.depth <= 2));
  const byBytes = [...dirs].sort((a, b) => (b.bytes > a.bytes ? 1 : b.bytes < a.bytes ? -1 : 0));
  const byInodes = [...dirs].sort((a, b) => (b.inodes > a.inodes ? 1 : b.inodes < a.inodes ? -1 : 0));
  for (let i = 0; kept.size < max && (i < byBytes.length || i < byInodes.length); i++) {
    if (byBytes[i]) kept.add(byBytes[i]!);
    if (kept.size < max && byInodes[i]) kept.add(byInodes[i]!);
  }
  return dirs.filter((d) => kept.has(d));
}
