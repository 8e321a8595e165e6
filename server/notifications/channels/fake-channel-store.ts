/** The channel store in memory, for unit tests (passes the same contract as the knex store). */
import type { Db } from '../../db/database.js';
import type { Channel } from './channel.js';
import type { ChannelPatch, ChannelStore } from './channel-store.js';

/** Channels in a map. */
export class FakeChannelStore implements ChannelStore {
  private readonly rows = new Map<string, Channel>();

  in(_trx: Db): ChannelStore {
    return this;
  }

  async insert(tenantId: string, c: Channel): Promise<boolean> {
    if ([...this.rows.values()].some((r) => r.tenantId === tenantId && r.name === c.name)) return false;
    this.rows.set(c.id, { ...c, tenantId });
    return true;
  }

  async list(tenantId: string, opts: { enabledOnly?: boolean } = {}): Promise<Channel[]> {
    return [...this.rows.values()]
      .filter((r) => r.tenantId === tenantId && (!opts.enabledOnly || r.enabled))
      .sort((a, b) => a.id.localeCompare(b.id))
      .map((r) => ({ ...r }));
  }

  async get(tenantId: string, id: string): Promise<Channel | undefined> {
    const r = this.rows.get(id);
    return r && r.tenantId === tenantId ? { ...r } : undefined;
  }

  async update(tenantId: string, id: string, patch: ChannelPatch): Promise<Channel | undefined | 'name_taken'> {
    const r = await this.get(tenantId, id);
    if (!r) return undefined;
    if (patch.name !== undefined && [...this.rows.values()].some((o) => o.tenantId === tenantId && o.id !== id && o.name === patch.name)) return 'name_taken';
    const next: Channel = { ...r, ...Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined)), updatedAt: new Date() };
    this.rows.set(id, next);
    return { ...next };
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    if (!(await this.get(tenantId, id))) return false;
    return this.rows.delete(id);
  }
}
