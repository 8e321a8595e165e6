/** A tenant's notification channel: chat robots (Slack, Feishu/Lark, DingTalk, WeCom), webhooks, email. */

/** Channel kinds. */
export const channelKinds = ['slack', 'feishu', 'dingtalk', 'wecom', 'webhook', 'email'] as const;
export type ChannelKind = (typeof channelKinds)[number];

/** Kinds whose deliveries go through the chat senders. */
export const chatKinds: readonly ChannelKind[] = ['slack', 'feishu', 'dingtalk', 'wecom'];

/** What a channel needs to send; sealed at rest and never returned by the API. */
export interface ChannelConfig {
  /** The webhook address (Slack, Feishu, DingTalk, webhook) or the WeCom robot key's address. */
  url?: string;
  /** Feishu and DingTalk signing secrets; a webhook channel's own HMAC key. */
  secret?: string;
  /** Email channels: the address. */
  address?: string;
}

/** A channel as stored (the config sealed). */
export interface Channel {
  id: string;
  tenantId: string;
  kind: ChannelKind;
  name: string;
  enabled: boolean;
  sealedConfig: string;
  /** What the API shows of the config: host and last four characters. */
  hint: string;
  createdBy: string;
  createdAt: Date;
  updatedAt: Date;
}

/** Channel ids, as delivery rows name them. */
export const isChannelId = (s: string): boolean => /^chn_[0-9a-z]{26}$/.test(s);
