/**
 * In-process chat receivers (node:http on 127.0.0.1) that check what each vendor checks and
 * answer as each vendor does: Slack `ok` (400 `invalid_payload` on a bad shape); Feishu/Lark,
 * DingTalk and WeCom 200 with an error code in the body (non-zero when the signature, key or
 * shape is wrong). Each keeps the messages it accepted and the reasons it refused others.
 */
import { createHmac } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { signWebhook } from '../../../server/notifications/senders.js';

/** A running receiver. */
export interface ChatReceiver {
  kind: 'slack' | 'feishu' | 'dingtalk' | 'wecom' | 'webhook';
  url: string;
  secret?: string;
  /** Bodies accepted, parsed. */
  accepted: Record<string, unknown>[];
  /** Why requests were refused. */
  refused: string[];
  /** Arrival times (ms) of every request. */
  arrivals: number[];
  close(): Promise<void>;
}

type Check = (req: http.IncomingMessage, u: URL, body: string, json: Record<string, unknown>) => string | null;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null;

/** Feishu: `timestamp` + `sign` in the body, an interactive card (or post) message. */
const feishu =
  (secret: string): Check =>
  (_req, _u, _body, j) => {
    const ts = Number(j.timestamp);
    if (!j.sign || !ts) return 'missing timestamp or sign';
    if (Math.abs(Date.now() / 1000 - ts) > 3600) return 'timestamp is not within one hour';
    const expected = createHmac('sha256', `${ts}\n${secret}`).update('').digest('base64');
    if (j.sign !== expected) return 'sign match fail';
    const card = j.card as Record<string, unknown> | undefined;
    if (j.msg_type !== 'interactive' || !isObj(card) || !isObj(card.header) || !Array.isArray(card.elements)) return 'bad card';
    return null;
  };

/** DingTalk: `timestamp` (ms) and urlencoded `sign` in the query; a markdown message. */
const dingtalk =
  (secret: string): Check =>
  (_req, u, _body, j) => {
    const ts = u.searchParams.get('timestamp');
    const sign = u.searchParams.get('sign');
    if (!ts || !sign) return 'missing timestamp or sign';
    if (Math.abs(Date.now() - Number(ts)) > 3_600_000) return 'timestamp is too old';
    if (sign !== createHmac('sha256', secret).update(`${ts}\n${secret}`).digest('base64')) return 'sign not match';
    const md = j.markdown as Record<string, unknown> | undefined;
    if (j.msgtype !== 'markdown' || !isObj(md) || typeof md.title !== 'string' || typeof md.text !== 'string') return 'bad markdown';
    return null;
  };

/** WeCom: the robot `key` in the query; markdown content of at most 4096 bytes. */
const wecom =
  (key: string): Check =>
  (_req, u, _body, j) => {
    if (u.searchParams.get('key') !== key) return 'invalid webhook url';
    const md = j.markdown as Record<string, unknown> | undefined;
    if (j.msgtype !== 'markdown' || !isObj(md) || typeof md.content !== 'string') return 'bad markdown';
    if (Buffer.byteLength(md.content) > 4096) return 'content exceeds 4096 bytes';
    return null;
  };

/** Slack: `text` and valid blocks. */
const slack: Check = (_req, _u, _body, j) => {
  if (typeof j.text !== 'string' || !Array.isArray(j.blocks)) return 'invalid_payload';
  const ok = j.blocks.every((b) => isObj(b) && typeof b.type === 'string');
  return ok ? null : 'invalid_blocks';
};

/** Headroom webhooks signed with the channel's own secret. */
const webhook =
  (secret: string): Check =>
  (req, _u, body) => {
    const sig = String(req.headers['x-headroom-signature'] ?? '');
    const ts = Number(/t=(\d+)/.exec(sig)?.[1]);
    return sig === signWebhook(secret, ts, body) ? null : 'bad signature';
  };

/** Starts a receiver for `kind`; `secret` is the signing secret (or the WeCom key). */
export async function startChatReceiver(kind: ChatReceiver['kind'], secret = `secret-${kind}-0123456789`): Promise<ChatReceiver> {
  const check: Check = kind === 'slack' ? slack : kind === 'feishu' ? feishu(secret) : kind === 'dingtalk' ? dingtalk(secret) : kind === 'wecom' ? wecom(secret) : webhook(secret);
  const accepted: Record<string, unknown>[] = [];
  const refused: string[] = [];
  const arrivals: number[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      arrivals.push(Date.now());
      const body = Buffer.concat(chunks).toString('utf8');
      const u = new URL(req.url ?? '/', 'http://127.0.0.1');
      let json: Record<string, unknown> = {};
      try {
        json = JSON.parse(body) as Record<string, unknown>;
      } catch {
        // checked below as a bad shape
      }
      const why = check(req, u, body, json);
      if (why) refused.push(why);
      else accepted.push(json);
      if (kind === 'slack') res.writeHead(why ? 400 : 200, { 'content-type': 'text/plain' }).end(why ?? 'ok');
      else if (kind === 'webhook') res.writeHead(why ? 401 : 204).end();
      else if (kind === 'feishu') res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(why ? { code: 19021, msg: why, data: {} } : { code: 0, msg: 'success', data: {} }));
      else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(why ? { errcode: kind === 'wecom' ? 93000 : 310000, errmsg: why } : { errcode: 0, errmsg: 'ok' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const base = `http://127.0.0.1:${port}`;
  const url =
    kind === 'dingtalk'
      ? `${base}/robot/send?access_token=tok123`
      : kind === 'wecom'
        ? `${base}/cgi-bin/webhook/send?key=${secret}`
        : kind === 'feishu'
          ? `${base}/open-apis/bot/v2/hook/abc-uuid`
          : `${base}/hook`;
  return { kind, url, secret, accepted, refused, arrivals, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/** The channel body that points at `r` (for POST /v1/tenants/{t}/channels). */
export function channelBody(r: ChatReceiver, name: string = r.kind): Record<string, unknown> {
  if (r.kind === 'slack') return { kind: 'slack', name, url: r.url };
  if (r.kind === 'wecom') return { kind: 'wecom', name, url: r.url };
  return { kind: r.kind, name, url: r.url, secret: r.secret };
}
