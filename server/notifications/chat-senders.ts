/**
 * Chat deliveries in each vendor's documented format and signature scheme:
 *
 * - Slack incoming webhook: JSON `{ text, blocks }` (header, mrkdwn section, a button); answers
 *   200 `ok`, 429 when throttled.
 * - Feishu/Lark custom bot: `{ msg_type: "interactive", card }`; with a signing secret the body
 *   carries `timestamp` (seconds) and `sign` = base64(HMAC-SHA256(key = `${timestamp}\n${secret}`,
 *   empty message)). Answers 200 with `{ code, msg }`: a non-zero code is a failure.
 * - DingTalk robot: `{ msgtype: "markdown", markdown: { title, text } }`; with a secret the URL
 *   gets `timestamp` (milliseconds) and `sign` = urlencode(base64(HMAC-SHA256(secret,
 *   `${timestamp}\n${secret}`))). Answers 200 with `{ errcode, errmsg }`.
 * - WeCom group robot: `{ msgtype: "markdown", markdown: { content } }` (at most 4096 bytes) to
 *   `…/cgi-bin/webhook/send?key=KEY`. Answers 200 with `{ errcode, errmsg }`.
 *
 * Every request goes through the outbound guard (resolved at delivery, internal ranges refused).
 */
import { createHmac } from 'node:crypto';
import type { OutboundGuard } from '../lib/outbound-guard.js';
import type { ChannelConfig, ChannelKind } from './channels/channel.js';
import type { Language } from './notice.js';
import type { Rendered } from './senders.js';

/** A rendered notice plus what a chat message links to. */
export interface ChatMessage extends Rendered {
  language: Language;
  /** Where to request more room. */
  requestUrl: string;
}

/** Feishu's signature of `timestamp` (seconds). */
export function feishuSign(secret: string, timestamp: number): string {
  return createHmac('sha256', `${timestamp}\n${secret}`).update('').digest('base64');
}

/** DingTalk's signature of `timestamp` (milliseconds), before URL encoding. */
export function dingtalkSign(secret: string, timestamp: number): string {
  return createHmac('sha256', secret).update(`${timestamp}\n${secret}`).digest('base64');
}

const WECOM_URL = 'https://qyapi.weixin.qq.com/cgi-bin/webhook/send';
const WECOM_MAX_BYTES = 4096;
const SLACK_SECTION_MAX = 3000;

const button = (lang: Language) => (lang === 'zh' ? '申请扩容' : 'Request more');

/** Cuts `s` to at most `maxBytes` of UTF-8, on a character boundary. */
export function cutBytes(s: string, maxBytes: number): string {
  if (Buffer.byteLength(s) <= maxBytes) return s;
  let out = '';
  for (const ch of s) {
    if (Buffer.byteLength(out + ch + '…') > maxBytes) break;
    out += ch;
  }
  return `${out}…`;
}

/** Slack: fallback text plus blocks. */
export function slackPayload(m: ChatMessage) {
  const body = m.text.length > SLACK_SECTION_MAX ? `${m.text.slice(0, SLACK_SECTION_MAX - 1)}…` : m.text;
  return {
    text: m.subject,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: m.subject.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: body } },
      { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: button(m.language) }, url: m.requestUrl }] },
    ],
  };
}

/** Feishu: an interactive card, signed when the bot has a secret. */
export function feishuPayload(m: ChatMessage, secret: string | undefined, nowMs: number) {
  const card = {
    header: { title: { tag: 'plain_text', content: m.subject }, template: 'orange' },
    elements: [
      { tag: 'div', text: { tag: 'lark_md', content: m.text } },
      { tag: 'action', actions: [{ tag: 'button', text: { tag: 'plain_text', content: button(m.language) }, url: m.requestUrl, type: 'primary' }] },
    ],
  };
  const timestamp = Math.floor(nowMs / 1000);
  return secret ? { timestamp: String(timestamp), sign: feishuSign(secret, timestamp), msg_type: 'interactive', card } : { msg_type: 'interactive', card };
}

/** DingTalk: markdown (title shows in the notification list). */
export function dingtalkPayload(m: ChatMessage) {
  return { msgtype: 'markdown', markdown: { title: m.subject, text: `### ${m.subject}\n\n${m.text}\n\n[${button(m.language)}](${m.requestUrl})` } };
}

/** WeCom: markdown, cut to the documented 4096 bytes. */
export function wecomPayload(m: ChatMessage) {
  return { msgtype: 'markdown', markdown: { content: cutBytes(`**${m.subject}**\n${m.text}\n[${button(m.language)}](${m.requestUrl})`, WECOM_MAX_BYTES) } };
}

/** The URL a chat message is posted to (DingTalk's signature goes in its query). */
export function chatUrl(kind: ChannelKind, c: ChannelConfig, nowMs: number): string {
  if (kind === 'wecom' && !c.url) throw new Error('wecom channel has no key');
  const u = new URL(c.url!);
  if (kind === 'dingtalk' && c.secret) {
    u.searchParams.set('timestamp', String(nowMs));
    u.searchParams.set('sign', dingtalkSign(c.secret, nowMs)); // URLSearchParams percent-encodes it
  }
  return u.toString();
}

/** A WeCom robot's address from its key. */
export const wecomUrl = (key: string): string => `${WECOM_URL}?key=${encodeURIComponent(key)}`;

/** Null when the vendor accepted the message, else why not (the delivery's lastError). */
export function vendorError(kind: ChannelKind, status: number, body: string): string | null {
  if (status < 200 || status >= 300) return `${kind} answered ${status}${body ? `: ${body.slice(0, 200)}` : ''}`;
  if (kind === 'slack') return body.trim() === '' || body.trim() === 'ok' ? null : `slack answered: ${body.slice(0, 200)}`;
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(body) as Record<string, unknown>;
  } catch {
    return `${kind} answered ${status} with a body that is not JSON`;
  }
  // DingTalk and WeCom: errcode; Feishu: code (older bots: StatusCode).
  const code = parsed.errcode ?? parsed.code ?? parsed.StatusCode ?? 0;
  if (code === 0) return null;
  return `${kind} answered errcode ${String(code)}: ${String(parsed.errmsg ?? parsed.msg ?? parsed.StatusMessage ?? '')}`.slice(0, 300);
}

/** Posts chat messages through the outbound guard. */
export class ChatSender {
  constructor(
    private readonly guard: OutboundGuard,
    private readonly timeoutMs: number,
  ) {}

  /** Sends `m` on a chat channel; throws with the vendor's reason when it is refused. */
  async send(kind: ChannelKind, c: ChannelConfig, m: ChatMessage, deliveryId: string): Promise<void> {
    const now = Date.now();
    const payload = kind === 'slack' ? slackPayload(m) : kind === 'feishu' ? feishuPayload(m, c.secret, now) : kind === 'dingtalk' ? dingtalkPayload(m) : kind === 'wecom' ? wecomPayload(m) : null;
    if (!payload) throw new Error(`${kind} is not a chat channel`);
    const res = await this.guard.post(
      chatUrl(kind, c, now),
      { 'content-type': 'application/json; charset=utf-8', 'user-agent': 'Headroom-Chat/1', 'x-headroom-delivery': deliveryId },
      JSON.stringify(payload),
      this.timeoutMs,
    );
    const err = vendorError(kind, res.status, res.body.toString('utf8'));
    if (err) throw new Error(err);
  }
}
