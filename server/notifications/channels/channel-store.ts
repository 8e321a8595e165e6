/**
 * Persistence of notification channels; every call takes the tenant first. `KnexChannelStore`
 * implements it over PostgreSQL and `FakeChannelStore` in memory; both pass
 * test/unit/notifications/channel-store.contract.ts.
 */
import type { Db } from '../../db/database.js';
import type { Channel } from './channel.js';

/** Changes to a channel. */
export type ChannelPatch = Partial<Pick<Channel, 'name' | 'enabled' | 'sealedConfig' | 'hint'>>;

/** The channel store. */
export interface ChannelStore {
  /** The same store inside the caller's transaction. */
  in(trx: Db): ChannelStore;
  /** Inserts; false when the tenant already has a channel of that name. */
  insert(tenantId: string, c: Channel): Promise<boolean>;
  list(tenantId: string, opts?: { enabledOnly?: boolean }): Promise<Channel[]>;
  get(tenantId: string, id: string): Promise<Channel | undefined>;
  /** Applies `patch`; the updated channel, or undefined when there is none (or the name is taken: 'name_taken'). */
  update(tenantId: string, id: string, patch: ChannelPatch): Promise<Channel | undefined | 'name_taken'>;
  remove(tenantId: string, id: string): Promise<boolean>;
}
