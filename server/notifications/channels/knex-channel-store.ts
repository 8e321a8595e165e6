/** The channel store over PostgreSQL (notification_channels). */
import type { Db } from '../../db/database.js';
import type { Channel, ChannelKind } from './channel.js';
import type { ChannelPatch, ChannelStore } from './channel-store.js';

const fromRow = (r: Record<string, unknown>): Channel => ({
  id: r.id as string,
  tenantId: r.tenant_id as string,
  kind: r.kind as ChannelKind,
  name: r.name as string,
  enabled: r.enabled as boolean,
  sealedConfig: r.sealed_config as string,
  hint: r.hint as string,
  createdBy: r.created_by as string,
  createdAt: r.created_at as Date,
  updatedAt: r.updated_at as Date,
});

const UNIQUE_VIOLATION = '23505';

/** Channels in PostgreSQL. */
export class KnexChannelStore implements ChannelStore {
  constructor(private readonly db: Db) {}

  in(trx: Db): ChannelStore {
    return new KnexChannelStore(trx);
  }

  async insert(tenantId: string, c: Channel): Promise<boolean> {
    const rows = (await this.db('notification_channels')
      .insert({
        id: c.id,
        tenant_id: tenantId,
        kind: c.kind,
        name: c.name,
        enabled: c.enabled,
        sealed_config: c.sealedConfig,
        hint: c.hint,
        created_by: c.createdBy,
        created_at: c.createdAt,
        updated_at: c.updatedAt,
      })
      .onConflict(['tenant_id', 'name'])
      .ignore()
      .returning('id')) as unknown[];
    return rows.length > 0;
  }

  async list(tenantId: string, opts: { enabledOnly?: boolean } = {}): Promise<Channel[]> {
    const q = this.db('notification_channels').where({ tenant_id: tenantId }).orderBy('id');
    if (opts.enabledOnly) q.where({ enabled: true });
    return ((await q) as Record<string, unknown>[]).map(fromRow);
  }

  async get(tenantId: string, id: string): Promise<Channel | undefined> {
    const r = (await this.db('notification_channels').where({ tenant_id: tenantId, id }).first()) as Record<string, unknown> | undefined;
    return r && fromRow(r);
  }

  async update(tenantId: string, id: string, patch: ChannelPatch): Promise<Channel | undefined | 'name_taken'> {
    const row: Record<string, unknown> = { updated_at: this.db.fn.now() };
    if (patch.name !== undefined) row.name = patch.name;
    if (patch.enabled !== undefined) row.enabled = patch.enabled;
    if (patch.sealedConfig !== undefined) row.sealed_config = patch.sealedConfig;
    if (patch.hint !== undefined) row.hint = patch.hint;
    try {
      const [r] = (await this.db('notification_channels').where({ tenant_id: tenantId, id }).update(row).returning('*')) as Record<string, unknown>[];
      return r && fromRow(r);
    } catch (err) {
      if ((err as { code?: string }).code === UNIQUE_VIOLATION) return 'name_taken';
      throw err;
    }
  }

  async remove(tenantId: string, id: string): Promise<boolean> {
    return (await this.db('notification_channels').where({ tenant_id: tenantId, id }).delete()) > 0;
  }
}
