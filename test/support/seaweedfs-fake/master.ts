/**
 * The master HTTP port of the fake (design/seaweedfs.md §4.2): `/vol/status` (one volume per
 * collection that has data, optional second copy on another node with the same id),
 * `/collection/info`, `/cluster/healthz`, `/cluster/status`, `/col/delete`.
 */
import type http from 'node:http';
import { send, sendJson, splitTarget } from './http.js';
import { parseQuery } from './sigv4.js';
import type { FakeCall, FakeState, FakeVolume } from './state.js';

export const VOLUME_SIZE_LIMIT = 30 * 1024 * 1024 * 1024;
const MAX_VOLUMES = 100;
export const PRIMARY_NODE = '127.0.0.1:8080';
export const REPLICA_NODE = '127.0.0.1:8081';

export function volumeSize(state: FakeState, v: FakeVolume): number {
  return state.liveBytes(v.collection) + v.deletedBytes;
}

function volumeRecord(state: FakeState, v: FakeVolume): Record<string, unknown> {
  return {
    Id: v.id,
    Size: volumeSize(state, v),
    ReplicaPlacement: v.copies > 1 ? { node: v.copies - 1 } : {},
    Ttl: { Count: 0, Unit: 0 },
    DiskType: '',
    Collection: v.collection,
    Version: 3,
    FileCount: v.fileCount,
    DeleteCount: v.deleteCount,
    DeletedByteCount: v.deletedBytes,
    ReadOnly: false,
    CompactRevision: 0,
    ModifiedAtSecond: Math.floor(Date.now() / 1000),
    RemoteStorageName: '',
    RemoteStorageKey: '',
  };
}

export function masterHandler(state: FakeState, selfUrl: () => string): (req: http.IncomingMessage, res: http.ServerResponse) => void {
  return (req, res) => {
    const method = (req.method ?? 'GET').toUpperCase();
    const { rawPath, rawQuery } = splitTarget(req.url);
    const query = new Map(parseQuery(rawQuery));
    const call: FakeCall = { service: 'master', method, path: rawPath, query: rawQuery };
    state.calls.push(call);
    res.on('finish', () => {
      call.status = res.statusCode;
    });
    req.resume();
    const fault = state.takeFault('master');
    if (fault !== undefined) return sendJson(res, fault, { error: 'injected fault' });
    const volumes = [...state.volumes.values()].sort((a, b) => a.id - b.id);
    switch (rawPath) {
      case '/cluster/healthz':
        return send(res, 200, undefined);
      case '/cluster/status':
        return sendJson(res, 200, { IsLeader: true, Leader: selfUrl().replace(/^http:\/\//, ''), Peers: [], MaxVolumeId: volumes.reduce((m, v) => Math.max(m, v.id), 0) });
      case '/vol/status': {
        const rack: Record<string, Record<string, unknown>[]> = { [PRIMARY_NODE]: volumes.map((v) => volumeRecord(state, v)) };
        const replicated = volumes.filter((v) => v.copies > 1);
        if (replicated.length > 0) rack[REPLICA_NODE] = replicated.map((v) => volumeRecord(state, v));
        const used = volumes.reduce((n, v) => n + v.copies, 0);
        return sendJson(res, 200, {
          Version: `30GB ${state.version} fake`,
          Volumes: { DataCenters: { dc1: { rack1: rack } }, Free: MAX_VOLUMES - used, Max: MAX_VOLUMES },
        });
      }
      case '/collection/info': {
        const name = query.get('collection') ?? '';
        const v = state.volumes.get(name);
        if (!name || !v) return sendJson(res, 400, { error: `collection ${name} does not exist` });
        return sendJson(res, 200, {
          TotalSize: VOLUME_SIZE_LIMIT * v.copies,
          UsedSize: volumeSize(state, v) * v.copies,
          FileCount: v.fileCount * v.copies,
          VolumeCount: v.copies,
        });
      }
      case '/col/delete': {
        const name = query.get('collection') ?? '';
        if (!state.volumes.delete(name)) return sendJson(res, 400, { error: `collection ${name} does not exist` });
        return sendJson(res, 200, {});
      }
      default:
        return sendJson(res, 404, { error: `${rawPath} not found` });
    }
  };
}
