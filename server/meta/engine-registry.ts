/**
 * One engine client per metadata cluster (or local file), shared by every volume on it, opened
 * lazily from the volume's meta URL and closed at shutdown.
 */
import { EtcdEngine } from '../engines/etcd/etcd-engine.js';
import type { KvEngine } from '../engines/kv.js';
import { LocalEngine } from '../engines/local/local-engine.js';
import { TikvEngine } from '../engines/tikv/tikv-engine.js';
import { MetaUrlError, parseMetaUrl, type MetaLocation } from './meta-url.js';

/** Opens an engine client for a location. */
export type EngineOpener = (loc: MetaLocation) => KvEngine;

/** The engines this build can open. */
export const defaultOpeners: Partial<Record<MetaLocation['engine'], EngineOpener>> = {
  local: (loc) => new LocalEngine(loc.file!),
  etcd: (loc) => new EtcdEngine({ endpoints: loc.endpoints, auth: loc.auth }),
  tikv: (loc) => new TikvEngine({ pdEndpoints: loc.endpoints }),
};

/** Shared engine clients, keyed by connection. */
export class EngineRegistry {
  private readonly engines = new Map<string, KvEngine>();

  constructor(private readonly openers: Partial<Record<MetaLocation['engine'], EngineOpener>> = defaultOpeners) {}

  /** The engine and prefix for a meta URL. */
  forUrl(metaUrl: string): { engine: KvEngine; location: MetaLocation } {
    const location = parseMetaUrl(metaUrl);
    let engine = this.engines.get(location.connection);
    if (!engine) {
      const open = this.openers[location.engine];
      if (!open) throw new MetaUrlError(`the ${location.engine} engine is not available in this build`);
      engine = open(location);
      this.engines.set(location.connection, engine);
    }
    return { engine, location };
  }

  async close(): Promise<void> {
    const all = [...this.engines.values()];
    this.engines.clear();
    await Promise.allSettled(all.map((e) => e.close()));
  }
}
