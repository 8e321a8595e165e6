/**
 * Outbound requests to targets an admin or the platform can set (tenant webhooks today, chat
 * channels later). Headroom posts from inside the platform's network, so a target must not reach
 * what only Headroom should: loopback, link-local (cloud metadata), private and other
 * non-public ranges, and every endpoint Headroom itself is configured with (PostgreSQL, Redis,
 * etcd, PD, SeaweedFS), unless `OUTBOUND_ALLOW` names it.
 *
 * The name is resolved at delivery time, every address is checked, and the connection is pinned
 * to the checked address (the request's `lookup`), so a DNS answer that changes between check
 * and connect (rebinding) cannot redirect it. Redirects are never followed, and answers are read
 * up to a cap.
 */
import { lookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** A target the guard refused; the message says why (shown on the delivery). */
export class OutboundRefusedError extends Error {
  constructor(reason: string) {
    super(`refused: ${reason}`);
    this.name = 'OutboundRefusedError';
  }
}

/** What the guard allows and protects. */
export interface OutboundPolicy {
  /** `OUTBOUND_ALLOW`: host names, `host:port`, IP addresses or CIDRs that may be reached anyway. */
  allow: readonly string[];
  /** Headroom's own endpoints as `host:port` (or URLs): refused unless allowed by exactly that `host:port`. */
  internal: readonly string[];
}

/** An answer, cut at the size cap. */
export interface OutboundResponse {
  status: number;
  body: Buffer;
}

const PUBLIC = new Set(['unicast']);
/** Ports of endpoints given without one, by scheme. */
const DEFAULT_PORTS: Record<string, string> = { http: '80', https: '443', postgres: '5432', postgresql: '5432', redis: '6379', rediss: '6379', etcd: '2379', tikv: '2379' };
const MAX_BODY = 64 * 1024;

/** Checks and sends outbound requests. */
export class OutboundGuard {
  private readonly cidrs: [ipaddr.IPv4 | ipaddr.IPv6, number][] = [];
  private readonly hosts = new Set<string>();

  constructor(private readonly policy: OutboundPolicy) {
    for (const a of policy.allow.map((x) => x.trim()).filter(Boolean)) {
      if (ipaddr.isValidCIDR(a)) this.cidrs.push(ipaddr.parseCIDR(a));
      else if (ipaddr.isValid(a)) this.cidrs.push([ipaddr.parse(a), ipaddr.parse(a).kind() === 'ipv4' ? 32 : 128]);
      else this.hosts.add(a.toLowerCase());
    }
  }

  /**
   * Resolves `url`'s host and checks every address; returns the address to connect to, or throws
   * {@link OutboundRefusedError} naming the rule that refused it.
   */
  async check(url: URL): Promise<{ address: string; family: 4 | 6 }> {
    const host = url.hostname.replace(/^\[|\]$/g, '').toLowerCase();
    const port = url.port || (url.protocol === 'https:' ? '443' : '80');
    const named = this.hosts.has(host) || this.hosts.has(`${host}:${port}`);
    const addresses = ipaddr.isValid(host) ? [{ address: host, family: ipaddr.parse(host).kind() === 'ipv4' ? 4 : 6 }] : await lookup(host, { all: true, verbatim: true }).catch(() => []);
    if (!addresses.length) throw new OutboundRefusedError(`${host} does not resolve`);
    const internal = await this.internalAddresses();
    for (const a of addresses) {
      const ip = ipaddr.process(a.address);
      const exact = this.hosts.has(`${host}:${port}`) || this.hosts.has(`${ip.toString()}:${port}`);
      if (internal.has(`${ip.toString()}:${port}`) && !exact) throw new OutboundRefusedError(`${host}:${port} is one of Headroom's own endpoints`);
      const allowed = named || this.cidrs.some(([net, bits]) => ip.kind() === net.kind() && ip.match(net, bits));
      if (!allowed && !PUBLIC.has(ip.range())) throw new OutboundRefusedError(`${host} resolves to ${ip.toString()} (${ip.range()}); set OUTBOUND_ALLOW to allow it`);
    }
    const first = addresses[0]!;
    return { address: first.address, family: first.family as 4 | 6 };
  }

  /** POSTs `body` to `url` after {@link check}, pinned to the checked address, within `timeoutMs`. */
  async post(url: string, headers: Record<string, string>, body: string, timeoutMs: number): Promise<OutboundResponse> {
    const u = new URL(url);
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new OutboundRefusedError(`${u.protocol} is not http or https`);
    const pinned = await this.check(u);
    // The checked address, whatever the name resolves to by the time the socket connects.
    const pin: LookupFunction = (_host, opts, cb) => {
      if (typeof opts === 'object' && opts.all) (cb as unknown as (e: null, a: { address: string; family: number }[]) => void)(null, [pinned]);
      else cb(null, pinned.address, pinned.family);
    };
    const lib = u.protocol === 'https:' ? https : http;
    return new Promise<OutboundResponse>((resolve, reject) => {
      const req = lib.request(u, { method: 'POST', headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) }, lookup: pin, timeout: timeoutMs }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= MAX_BODY) chunks.push(c);
          else res.destroy(); // enough: the answer is not ours to read in full
        });
        res.on('close', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
        res.on('error', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      });
      req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      req.on('error', reject);
      req.end(body);
    });
  }

  /** Headroom's own endpoints as resolved `address:port` (resolved per call: they may move). */
  private async internalAddresses(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const e of this.policy.internal) {
      const m = /^(?:[a-z+]+:\/\/)?(?:[^@/]*@)?(\[[^\]]+\]|[^:/?]+)(?::(\d+))?/i.exec(e);
      if (!m) continue;
      const host = m[1]!.replace(/^\[|\]$/g, '');
      const scheme = /^([a-z+]+):\/\//i.exec(e)?.[1]?.toLowerCase() ?? '';
      const port = m[2] ?? DEFAULT_PORTS[scheme] ?? '';
      const addrs = ipaddr.isValid(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
      for (const a of addrs) out.add(`${ipaddr.process(a).toString()}:${port}`);
    }
    return out;
  }
}
