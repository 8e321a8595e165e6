/** PostgreSQL store for walks and their per-directory results. */
import type { Db } from '../db/database.js';
import type { DirectoryUsage } from '../meta/volume-metadata.js';

/** States of a walk. */
export type WalkState = 'queued' | 'running' | 'succeeded' | 'failed';

/** One directory walk of a volume. */
export interface Walk {
  id: string;
  volumeId: string;
  tenantId: string;
  state: WalkState;
  requestedBy: string;
  keysRead: number;
  result: Record<string, unknown> | null;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

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

/** Inserts a queued walk; returns undefined if the volume already has one queued or running. */
export async function insertWalk(db: Db, tenantId: string, s: { id: string; volumeId: string; requestedBy: string }): Promise<Walk | undefined> {
  const rows = (await db('walks')
    .insert({ id: s.id, volume_id: s.volumeId, tenant_id: tenantId, state: 'queued', requested_by: s.requestedBy })
    .onConflict(db.raw(`(volume_id) WHERE state IN ('queued', 'running')`))
    .ignore()
    .returning('*')) as WalkRow[];
  return rows[0] && fromRow(rows[0]);
}

/** The volume's queued or running walk, if any. */
export async function findActiveWalk(db: Db, tenantId: string, volumeId: string): Promise<Walk | undefined> {
  const row = (await db('walks').where({ tenant_id: tenantId, volume_id: volumeId }).whereIn('state', ['queued', 'running']).first()) as WalkRow | undefined;
  return row && fromRow(row);
}

/** One walk of a volume. */
export async function findWalk(db: Db, tenantId: string, volumeId: string, walkId: string): Promise<Walk | undefined> {
  const row = (await db('walks').where({ tenant_id: tenantId, volume_id: volumeId, id: walkId }).first()) as WalkRow | undefined;
  return row && fromRow(row);
}

/** The latest successful walk of a volume. */
export async function latestSucceededWalk(db: Db, tenantId: string, volumeId: string): Promise<Walk | undefined> {
  const row = (await db('walks').where({ tenant_id: tenantId, volume_id: volumeId, state: 'succeeded' }).orderBy('finished_at', 'desc').first()) as WalkRow | undefined;
  return row && fromRow(row);
}

/** Updates a walk's state and progress fields. */
export async function updateWalk(db: Db, walkId: string, patch: Partial<{ state: WalkState; keysRead: number; result: object; error: string; started: boolean; finished: boolean }>): Promise<void> {
  await db('walks')
    .where({ id: walkId })
    .update({
      ...(patch.state ? { state: patch.state } : {}),
      ...(patch.keysRead !== undefined ? { keys_read: patch.keysRead } : {}),
      ...(patch.result ? { result: JSON.stringify(patch.result) } : {}),
      ...(patch.error !== undefined ? { error: patch.error } : {}),
      ...(patch.started ? { started_at: db.fn.now() } : {}),
      ...(patch.finished ? { finished_at: db.fn.now() } : {}),
    });
}

/** Marks walks left queued/running by a previous process as failed (they cannot be resumed). */
export async function failInterruptedWalks(db: Db): Promise<number> {
  return db('walks').whereIn('state', ['queued', 'running']).update({ state: 'failed', error: 'interrupted: the server restarted during the walk', finished_at: db.fn.now() });
}

/** Writes a walk's directories in batches (inside the caller's transaction). */
export async function insertDirectories(db: Db, walkId: string, dirs: DirectoryUsage[]): Promise<void> {
  const rows = dirs.map((d) => ({
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
  }));
  for (let i = 0; i < rows.length; i += 1000) await db('directory_usage').insert(rows.slice(i, i + 1000));
}

/** Sort keys offered by the directories endpoint. */
export type DirectorySort = 'bytes' | 'inodes' | 'logicalBytes';

/** The largest directories of a walk down to `maxDepth`, trash excluded. */
export async function topDirectories(db: Db, walkId: string, opts: { maxDepth: number; limit: number; sort: DirectorySort }): Promise<DirectoryUsage[]> {
  const column = { bytes: 'bytes', inodes: 'inodes', logicalBytes: 'logical_bytes' }[opts.sort];
  const rows = (await db('directory_usage')
    .where({ walk_id: walkId, in_trash: false })
    .where('depth', '<=', opts.maxDepth)
    .orderBy([
      { column, order: 'desc' },
      { column: 'path', order: 'asc' },
    ])
    .limit(opts.limit)) as Record<string, unknown>[];
  return rows.map((r) => ({
    inode: r.inode as bigint,
    pathBase64: r.path_b64 as string,
    path: r.path as string,
    depth: r.depth as number,
    inTrash: r.in_trash as boolean,
    bytes: r.bytes as bigint,
    logicalBytes: r.logical_bytes as bigint,
    inodes: r.inodes as bigint,
    files: r.files as bigint,
    dirs: r.dirs as bigint,
    directBytes: r.direct_bytes as bigint,
    directInodes: r.direct_inodes as bigint,
  }));
}

/** The latest successful walk of each volume: when it finished and what it found. */
export async function latestWalks(db: Db, volumeIds: readonly string[]): Promise<Map<string, { walkId: string; finishedAt: Date; result: Record<string, unknown> }>> {
  const out = new Map<string, { walkId: string; finishedAt: Date; result: Record<string, unknown> }>();
  for (let i = 0; i < volumeIds.length; i += 1000) {
    const rows = (await db('walks')
      .distinctOn('volume_id')
      .select('volume_id', 'id', 'finished_at', 'result')
      .whereIn('volume_id', volumeIds.slice(i, i + 1000))
      .where({ state: 'succeeded' })
      .orderBy([{ column: 'volume_id' }, { column: 'finished_at', order: 'desc' }])) as Record<string, unknown>[];
    for (const r of rows) out.set(r.volume_id as string, { walkId: r.id as string, finishedAt: r.finished_at as Date, result: (r.result as Record<string, unknown>) ?? {} });
  }
  return out;
}
