/**
 * A tenant's notification channels, managed by admins and the platform. The target (webhook
 * address or WeCom key) and signing secret are sealed together at rest and never returned:
 * the API shows a hint (host and last four characters). Changes are audited in their transaction.
 */
import type { Knex } from 'knex';
import { ulid } from 'ulid';
import { recordAudit, type Actor } from '../../audit/audit-log.js';
import type { Principal } from '../../auth/principal.js';
import { inTransaction } from '../../db/database.js';
import { ApiError, errors } from '../../lib/errors.js';
import type { SecretBox } from '../../storage/secret-box.js';
import { wecomUrl } from '../chat-senders.js';
import type { Channel, ChannelConfig, ChannelKind } from './channel.js';
import type { ChannelStore } from './channel-store.js';

/** What a caller sends to create a channel. */
export interface ChannelInput {
  kind: ChannelKind;
  name: string;
  enabled?: boolean;
  url?: string;
  key?: string;
  secret?: string;
  address?: string;
}

/** What a caller sends to change one (the kind never changes). */
export type ChannelUpdate = Partial<Omit<ChannelInput, 'kind'>>;

/** The hint shown instead of the sealed config. */
export interface ChannelHint {
  target: string;
  secret: string | null;
}

const channelNotFound = (id: string) => new ApiError(404, 'channel_not_found', 'Channel not found', `channel "${id}" does not exist`);
const channelNameTaken = (name: string) => new ApiError(409, 'channel_name_taken', 'Channel name taken', `the tenant already has a channel named "${name}"`);

const last4 = (s: string) => `…${s.slice(-4)}`;

/** Checks a config for its kind and returns it normalized, or throws 400. */
export function checkConfig(kind: ChannelKind, c: ChannelConfig & { key?: string }): ChannelConfig {
  if (kind === 'email') {
    if (!c.address || !/^[^\s@]+@[^\s@]+$/.test(c.address)) throw errors.validation('an email channel needs an `address`');
    return { address: c.address };
  }
  const url = kind === 'wecom' && !c.url && c.key ? wecomUrl(c.key) : c.url;
  if (!url) throw errors.validation(kind === 'wecom' ? 'a wecom channel needs its robot `key` (or the webhook `url`)' : `a ${kind} channel needs a webhook \`url\``);
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw errors.validation('`url` is not a URL');
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw errors.validation('`url` must be http or https');
  if (kind === 'slack' && c.secret) throw errors.validation('slack incoming webhooks take no signing secret');
  return { url, ...(c.secret ? { secret: c.secret } : {}) };
}

/** The hint of a config: its host and the last four characters of its address and secret. */
export function hintOf(c: ChannelConfig): ChannelHint {
  if (c.address) return { target: c.address, secret: null };
  const u = new URL(c.url!);
  return { target: `${u.protocol}//${u.host}/${last4(u.pathname + u.search)}`, secret: c.secret ? last4(c.secret) : null };
}

/** Manages channels. */
export class ChannelService {
  constructor(
    private readonly db: Knex,
    private readonly store: ChannelStore,
    private readonly box: SecretBox,
    private readonly tenants: { get(principal: Principal, tenantId: string): Promise<unknown> },
  ) {}

  /** The tenant's channels (404 when the tenant is not visible). */
  async list(principal: Principal, tenantId: string): Promise<Channel[]> {
    await this.tenants.get(principal, tenantId);
    return this.store.list(tenantId);
  }

  /** One channel. */
  async get(principal: Principal, tenantId: string, id: string): Promise<Channel> {
    await this.tenants.get(principal, tenantId);
    const c = await this.store.get(tenantId, id);
    if (!c) throw channelNotFound(id);
    return c;
  }

  /** Creates a channel; audited. */
  async create(actor: Actor, principal: Principal, tenantId: string, input: ChannelInput): Promise<Channel> {
    await this.tenants.get(principal, tenantId);
    const config = checkConfig(input.kind, input);
    const now = new Date();
    const c: Channel = {
      id: `chn_${ulid().toLowerCase()}`,
      tenantId,
      kind: input.kind,
      name: input.name,
      enabled: input.enabled ?? true,
      sealedConfig: this.box.seal(JSON.stringify(config)),
      hint: JSON.stringify(hintOf(config)),
      createdBy: actor.sub,
      createdAt: now,
      updatedAt: now,
    };
    return inTransaction(this.db, async (trx) => {
      if (!(await this.store.in(trx).insert(tenantId, c))) throw channelNameTaken(input.name);
      await recordAudit(trx, actor, { action: 'notification_channel.created', entityType: 'channel', entityId: c.id, tenantId, before: null, after: auditImage(c) });
      return c;
    });
  }

  /** Changes a channel; a new `url`, `key` or `secret` replaces the sealed config. Audited. */
  async update(actor: Actor, principal: Principal, tenantId: string, id: string, patch: ChannelUpdate): Promise<Channel> {
    const before = await this.get(principal, tenantId, id);
    let sealed: { sealedConfig: string; hint: string } | undefined;
    if (patch.url !== undefined || patch.key !== undefined || patch.secret !== undefined || patch.address !== undefined) {
      const old = JSON.parse(this.box.open(before.sealedConfig)) as ChannelConfig;
      const next = checkConfig(before.kind, { ...old, ...(patch.key !== undefined ? { url: undefined } : {}), ...stripUndefined(patch) });
      sealed = { sealedConfig: this.box.seal(JSON.stringify(next)), hint: JSON.stringify(hintOf(next)) };
    }
    return inTransaction(this.db, async (trx) => {
      const after = await this.store.in(trx).update(tenantId, id, { name: patch.name, enabled: patch.enabled, ...sealed });
      if (after === 'name_taken') throw channelNameTaken(patch.name!);
      if (!after) throw channelNotFound(id);
      await recordAudit(trx, actor, { action: 'notification_channel.updated', entityType: 'channel', entityId: id, tenantId, before: auditImage(before), after: auditImage(after) });
      return after;
    });
  }

  /** Deletes a channel (its pending deliveries then fail: the channel is gone). Audited. */
  async remove(actor: Actor, principal: Principal, tenantId: string, id: string): Promise<Channel> {
    const before = await this.get(principal, tenantId, id);
    return inTransaction(this.db, async (trx) => {
      if (!(await this.store.in(trx).remove(tenantId, id))) throw channelNotFound(id);
      await recordAudit(trx, actor, { action: 'notification_channel.deleted', entityType: 'channel', entityId: id, tenantId, before: auditImage(before), after: null });
      return before;
    });
  }

  /** The config of a channel, unsealed, for delivery (undefined when it is gone or off). */
  async configFor(tenantId: string, id: string): Promise<{ channel: Channel; config: ChannelConfig } | undefined> {
    const channel = await this.store.get(tenantId, id);
    if (!channel || !channel.enabled) return undefined;
    return { channel, config: JSON.parse(this.box.open(channel.sealedConfig)) as ChannelConfig };
  }
}

/** What the audit log keeps of a channel: never the sealed config. */
const auditImage = (c: Channel) => ({ channelId: c.id, kind: c.kind, name: c.name, enabled: c.enabled, hint: JSON.parse(c.hint) as ChannelHint });

const stripUndefined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
