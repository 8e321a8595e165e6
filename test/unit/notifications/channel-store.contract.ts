/** The channel store contract, run against the knex store (e2e) and the fake (unit). */
import { expect, it } from 'vitest';
import type { Channel } from '../../../server/notifications/channels/channel.js';
import type { ChannelStore } from '../../../server/notifications/channels/channel-store.js';

const channel = (id: string, tenantId: string, name: string, over: Partial<Channel> = {}): Channel => ({
  id,
  tenantId,
  kind: 'slack',
  name,
  enabled: true,
  sealedConfig: 'v2.k.sealed',
  hint: '{"target":"x","secret":null}',
  createdBy: 'root',
  createdAt: new Date('2026-12-01T00:00:00Z'),
  updatedAt: new Date('2026-12-01T00:00:00Z'),
  ...over,
});

/** Runs the contract; `make` gives a store over tenants `t1` and `t2` (existing for the knex store). */
export function channelStoreContract(make: () => Promise<ChannelStore>) {
  const id = (n: number) => `chn_${String(n).padStart(26, '0')}`;
  it('inserts, lists per tenant in id order, and refuses a name taken in the tenant', async () => {
    const s = await make();
    expect(await s.insert('t1', channel(id(2), 't1', 'b'))).toBe(true);
    expect(await s.insert('t1', channel(id(1), 't1', 'a', { enabled: false }))).toBe(true);
    expect(await s.insert('t1', channel(id(3), 't1', 'a'))).toBe(false);
    expect(await s.insert('t2', channel(id(4), 't2', 'a'))).toBe(true);
    expect((await s.list('t1')).map((c) => c.id)).toEqual([id(1), id(2)]);
    expect((await s.list('t1', { enabledOnly: true })).map((c) => c.id)).toEqual([id(2)]);
    expect((await s.list('t2')).map((c) => c.name)).toEqual(['a']);
  });

  it('gets, updates and removes only within the tenant', async () => {
    const s = await make();
    await s.insert('t1', channel(id(11), 't1', 'x'));
    await s.insert('t1', channel(id(12), 't1', 'y'));
    expect(await s.get('t2', id(11))).toBeUndefined();
    expect(await s.update('t2', id(11), { name: 'z' })).toBeUndefined();
    expect(await s.update('t1', id(11), { name: 'y' })).toBe('name_taken');
    const u = await s.update('t1', id(11), { enabled: false, hint: 'h2' });
    expect(u).toMatchObject({ id: id(11), name: 'x', enabled: false, hint: 'h2', sealedConfig: 'v2.k.sealed' });
    expect((await s.get('t1', id(11)))?.enabled).toBe(false);
    expect(await s.remove('t2', id(11))).toBe(false);
    expect(await s.remove('t1', id(11))).toBe(true);
    expect(await s.get('t1', id(11))).toBeUndefined();
  });
}
