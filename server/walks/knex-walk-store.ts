/** The PostgreSQL {@link WalkStore} over `walks` and `directory_usage`. Row mapping stays private to this file. */
import type { Knex } from 'knex';
import { recordAudit } from '../audit/audit-log.js';
import { inTransaction, type Db } from '../db/database.js';
import type { DirectoryUsage } from '../meta/volume-metadata.js';
import type { DirectoryQuery, LatestWalk, NewWalk, Walk, WalkPatch, WalkState, WalkStore, WalkUnitOfWork } from './walk-store.js';

interface WalkRow {
  id: string;
  volume_id: string;
  tenant_id: string;
  state: WalkState;
  requested_by: string;
  keys_read: bigint;
  result: Record<string, unknown> | null;
  error: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
}

interface DirectoryRow {
  inode: bigint;
  path_b64: string;
  path: string;
  depth: number;
  in_trash: boolean;
  bytes: bigint;
  logical_bytes: bigint;
  inodes: bigint;
  files: bigint;
  dirs: bigint;
  direct_bytes: bigint;
  direct_inodes: bigint;
}

const fromRow = (r: WalkRow): Walk => ({
  id: r.id,
  volumeId: r.volume_id,
  tenantId: r.tenant_id,
  state: r.state,
  requestedBy: r.requested_by,
  keysRead: Number(r.keys_read),
  result: r.result,
  error: r.error,
  createdAt: r.created_at,
  startedAt: r.started_at,
  finishedAt: r.finished_at,
});

const toDirectoryRow = (walkId: string, d: DirectoryUsage) => ({
  walk_id: walkId,
  inode: d.inode.toString(),
  path_b64: d.pathBase64,
  path: d.path,
  depth: d.depth,
  in_trash: d.inTrash,
  bytes: d.bytes.toString(),
  logical_bytes: d.logicalBytes.toString(),
  inodes: d.inodes.toString(),
  files: d.files.toString(),
  dirs: d.dirs.toString(),
  direct_bytes: d.directBytes.toString(),
  direct_inodes: d.directInodes.toString(),
});

const fromDirectoryRow = (r: DirectoryRow): DirectoryUsage => ({
  inode: r.inode,
  pathBase64: r.path_b64,
  path: r.path,
  depth: r.depth,
  inTrash: r.in_trash,
  bytes: r.bytes,
  logicalBytes: r.logical_bytes,
  inodes: r.inodes,
  files: r.files,
  dirs: r.dirs,
  directBytes: r.direct_bytes,
  directInodes: r.direct_inodes,
});

/** Volumes per `latest` query: one array parameter each, so a big fleet is read in a few round trips. */
const LATEST_BATCH = 1000;
/** Directory rows per INSERT (PostgreSQL allows 65535 parameters; a row has 13). */
const INSERT_BATCH = 1000;

/** {@link WalkStore} over PostgreSQL; `db` is the pool or, inside `transaction`, the transaction. */
export class KnexWalkStore implements WalkStore {
  constructor(private readonly db: Db) {}

  transaction<T>(fn: (uow: WalkUnitOfWork<Knex.Transaction>) => Promise<T>): Promise<T> {
    return inTransaction(this.db as Knex, (trx) => fn({ ...this.joined(trx), trx }));
  }

  joined(trx: Db): WalkUnitOfWork {
    return { trx, store: new KnexWalkStore(trx), audit: (actor, e) => recordAudit(trx, actor, e) };
  }

  async insert(w: NewWalk): Promise<Walk | undefined> {
    const rows = (await this.db('walks')
      .insert({ id: w.id, volume_id: w.volumeId, tenant_id: w.tenantId, state: 'queued', requested_by: w.requestedBy })
      // The partial unique index `walks_one_active`: a second active walk of the volume is skipped.
      .onConflict(this.db.raw(`(volume_id) WHERE state IN ('queued', 'running')`))
      .ignore()
      .returning('*')) as WalkRow[];
    return rows[0] && fromRow(rows[0]);
  }

  async findActive(tenantId: string, volumeId: string): Promise<Walk | undefined> {
    const row = (await this.db('walks').where({ tenant_id: tenantId, volume_id: volumeId }).whereIn('state', ['queued', 'running']).first()) as WalkRow | undefined;
    return row && fromRow(row);
  }

  async find(tenantId: string, volumeId: string, walkId: string): Promise<Walk | undefined> {
    const row = (await this.db('walks').where({ tenant_id: tenantId, volume_id: volumeId, id: walkId }).first()) as WalkRow | undefined;
    return row && fromRow(row);
  }

  async latestSucceeded(tenantId: string, volumeId: string): Promise<Walk | undefined> {
    const row = (await this.db('walks').where({ tenant_id: tenantId, volume_id: volumeId, state: 'succeeded' }).orderBy('finished_at', 'desc').first()) as WalkRow | undefined;
    return row && fromRow(row);
  }

  async update(walkId: string, patch: WalkPatch): Promise<void> {
    await this.db('walks')
      .where({ id: walkId })
      .update({
        ...(patch.state ? { state: patch.state } : {}),
        ...(patch.keysRead !== undefined ? { keys_read: patch.keysRead } : {}),
        ...(patch.result ? { result: JSON.stringify(patch.result) } : {}),
        ...(patch.error !== undefined ? { error: patch.error } : {}),
        ...(patch.started ? { started_at: this.db.fn.now() } : {}),
        ...(patch.finished ? { finished_at: this.db.fn.now() } : {}),
      });
  }

  async failActive(error: string): Promise<number> {
    return this.db('walks').whereIn('state', ['queued', 'running']).update({ state: 'failed', error, finished_at: this.db.fn.now() });
  }

  async insertDirectories(walkId: string, dirs: readonly DirectoryUsage[]): Promise<void> {
    const rows = dirs.map((d) => toDirectoryRow(walkId, d));
    for (let i = 0; i < rows.length; i += INSERT_BATCH) await this.db('directory_usage').insert(rows.slice(i, i + INSERT_BATCH));
  }

  async topDirectories(walkId: string, q: DirectoryQuery): Promise<DirectoryUsage[]> {
    const column = { bytes: 'bytes', inodes: 'inodes', logicalBytes: 'logical_bytes' }[q.sort];
    const rows = (await this.db('directory_usage')
      .where({ walk_id: walkId, in_trash: false })
      .where('depth', '<=', q.maxDepth)
      .orderBy([
        { column, order: 'desc' },
        { column: 'path', order: 'asc' },
      ])
      .limit(q.limit)) as DirectoryRow[];
    return rows.map(fromDirectoryRow);
  }

  async latest(volumeIds: readonly string[]): Promise<Map<string, LatestWalk>> {
    const out = new Map<string, LatestWalk>();
    for (let i = 0; i < volumeIds.length; i += LATEST_BATCH) {
      const rows = (await this.db('walks')
        .distinctOn('volume_id')
        .select('volume_id', 'id', 'finished_at', 'result')
        .whereRaw('volume_id = ANY(?::text[])', [volumeIds.slice(i, i + LATEST_BATCH)])
        .where({ state: 'succeeded' })
        .orderBy([{ column: 'volume_id' }, { column: 'finished_at', order: 'desc' }])) as Pick<WalkRow, 'volume_id' | 'id' | 'finished_at' | 'result'>[];
      for (const r of rows) out.set(r.volume_id, { walkId: r.id, finishedAt: r.finished_at!, result: r.result ?? {} });
    }
    return out;
  }
}
