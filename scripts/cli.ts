/**
 * `npm run cli -- <command>`: Headroom for people at a terminal. Talks to the REST API at
 * HEADROOM_URL with HEADROOM_TOKEN (mint one with `npm run token`), prints tables, and exits
 * 1 on an API or network error (the problem's code and detail on stderr), 2 on bad usage.
 *
 *   volumes [--tenant t]                         volumes with usage, limits and enforcement state
 *   enforcement <volumeId>                       why am I frozen? (and what to do)
 *   request <volumeId> --reason r [--hard 2TB] [--soft 1.8TB] [--hard-inodes 2M] [--soft-inodes 1M] [--until ISO]
 *   requests [--state pending] [--volume v]      quota requests (admins: all; engineers: their own)
 *   approve <requestId> [--hard ..] [--soft ..] [--hard-inodes ..] [--soft-inodes ..] [--until ISO] [--comment c]
 *   deny <requestId> --reason r
 *   cancel <requestId>
 *   mount <volumeId> [--json]                    how to mount it: juicefs command, fstab line, CSI manifests
 */
import { parseArgs } from 'node:util';
import { parseCount, parseSize, size, table } from './cli/format.js';

class UsageError extends Error {}

type Json = Record<string, unknown>;

async function api(method: string, path: string, body?: object): Promise<Json> {
  const base = (process.env.HEADROOM_URL ?? 'http://localhost:8080').replace(/\/+$/, '');
  const token = process.env.HEADROOM_TOKEN;
  if (!token) throw new UsageError('set HEADROOM_TOKEN (mint one with: npm run token -- --role engineer --sub you --tenants yours)');
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  const json = text ? (JSON.parse(text) as Json) : {};
  if (!res.ok) throw new Error(`${json.title ?? res.statusText} (${json.code ?? res.status}): ${json.detail ?? text}`);
  return json;
}

function limitsFrom(v: Record<string, string | boolean | undefined>): Json {
  try {
    return parseLimits(v);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

function parseLimits(v: Record<string, string | boolean | undefined>): Json {
  const out: Json = {};
  if (v.hard) out.hardBytes = parseSize(String(v.hard));
  if (v.soft) out.softBytes = parseSize(String(v.soft));
  if (v['hard-inodes']) out.hardInodes = parseCount(String(v['hard-inodes']));
  if (v['soft-inodes']) out.softInodes = parseCount(String(v['soft-inodes']));
  return out;
}

const limitText = (l: Json | null) =>
  l
    ? Object.entries(l)
        .map(([k, v]) => `${k}=${k.endsWith('Bytes') ? size(v as number | null) : (v ?? 'unlimited')}`)
        .join(' ')
    : '-';

const commands: Record<string, (args: string[]) => Promise<void>> = {
  async volumes(args) {
    const { values } = parseArgs({ args, options: { tenant: { type: 'string' } } });
    const rows: (string | number | null)[][] = [];
    let cursor: string | null = null;
    do {
      const q = new URLSearchParams({ limit: '200', ...(values.tenant ? { tenantId: values.tenant } : {}), ...(cursor ? { cursor } : {}) });
      const page = await api('GET', `/v1/volumes?${q}`);
      for (const v of page.items as Json[]) {
        const quota = v.quota as Json;
        let used: Json = {};
        if (v.state === 'active') used = await api('GET', `/v1/volumes/${v.id}/usage`).catch(() => ({}));
        const hard = quota.hardBytes as number | null;
        const pct = used.usedBytes !== undefined && hard ? `${Math.floor(((used.usedBytes as number) * 100) / hard)}%` : '-';
        rows.push([
          v.id as string,
          v.tenantId as string,
          v.name as string,
          v.engine as string,
          v.state as string,
          size(used.usedBytes as number | undefined),
          size(hard),
          pct,
          (used.state as string) ?? '-',
        ]);
      }
      cursor = page.nextCursor as string | null;
    } while (cursor);
    console.log(table(['ID', 'TENANT', 'NAME', 'ENGINE', 'STATE', 'USED', 'HARD', 'USE%', 'ENFORCEMENT'], rows));
  },

  async enforcement(args) {
    const id = args[0];
    if (!id) throw new UsageError('enforcement <volumeId>');
    const e = await api('GET', `/v1/volumes/${id}/enforcement`);
    const limits = e.limits as Json;
    console.log(`state: ${e.state} (${e.reason}) since ${e.since}${e.graceDeadline ? `, grace until ${e.graceDeadline}` : ''}`);
    const u = e.usage as Json | null;
    console.log(`usage: ${size(u?.bytes as number)} in ${u?.inodes ?? '-'} files; limits: soft ${size(limits.softBytes as number | null)}, hard ${size(limits.hardBytes as number | null)}`);
    console.log(`\n${e.explanation}\n`);
    for (const step of e.whatYouCanDo as string[]) console.log(`- ${step}`);
    const history = e.history as Json[];
    if (history.length) {
      console.log('');
      console.log(
        table(
          ['AT', 'FROM', 'TO', 'REASON', 'USED', 'BY'],
          history.map((h) => [h.at as string, h.from as string, h.to as string, h.reason as string, size(h.bytes as number | null), h.actor as string]),
        ),
      );
    }
  },

  async request(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: { hard: { type: 'string' }, soft: { type: 'string' }, 'hard-inodes': { type: 'string' }, 'soft-inodes': { type: 'string' }, reason: { type: 'string' }, until: { type: 'string' } },
    });
    if (!positionals[0] || !values.reason) throw new UsageError('request <volumeId> --reason "..." [--hard 2TB] [--soft ..] [--hard-inodes ..] [--soft-inodes ..] [--until ISO]');
    const r = await api('POST', `/v1/volumes/${positionals[0]}/quota-requests`, { ...limitsFrom(values), reason: values.reason, ...(values.until ? { until: values.until } : {}) });
    console.log(`${r.id}: ${r.state}${r.ruleId ? ` by rule ${r.ruleId}` : ''}`);
    console.log(r.explanation);
  },

  async requests(args) {
    const { values } = parseArgs({ args, options: { state: { type: 'string' }, volume: { type: 'string' } } });
    const q = new URLSearchParams({ limit: '200', ...(values.state ? { state: values.state } : {}), ...(values.volume ? { volumeId: values.volume } : {}) });
    const page = await api('GET', `/v1/quota-requests?${q}`);
    const rows = (page.items as Json[]).map((r) => [
      r.id as string,
      r.volumeId as string,
      r.state as string,
      limitText(r.requested as Json),
      (r.until as string) ?? '-',
      r.requestedBy as string,
      r.createdAt as string,
    ]);
    console.log(table(['ID', 'VOLUME', 'STATE', 'REQUESTED', 'UNTIL', 'BY', 'CREATED'], rows));
  },

  async approve(args) {
    const { values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        hard: { type: 'string' },
        soft: { type: 'string' },
        'hard-inodes': { type: 'string' },
        'soft-inodes': { type: 'string' },
        until: { type: 'string' },
        permanent: { type: 'boolean' },
        comment: { type: 'string' },
      },
    });
    if (!positionals[0]) throw new UsageError('approve <requestId> [--hard ..] [--until ISO | --permanent] [--comment ..]');
    const body: Json = {
      ...limitsFrom(values),
      ...(values.comment ? { comment: values.comment } : {}),
      ...(values.until ? { until: values.until } : {}),
      ...(values.permanent ? { until: null } : {}),
    };
    const r = await api('POST', `/v1/quota-requests/${positionals[0]}/approve`, body);
    console.log(`${r.id}: ${r.state}, granted ${limitText(r.granted as Json)}${r.until ? ` until ${r.until}` : ''}`);
  },

  async deny(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { reason: { type: 'string' } } });
    if (!positionals[0] || !values.reason) throw new UsageError('deny <requestId> --reason "..."');
    const r = await api('POST', `/v1/quota-requests/${positionals[0]}/deny`, { reason: values.reason });
    console.log(`${r.id}: ${r.state}`);
  },

  async mount(args) {
    const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { json: { type: 'boolean' } } });
    if (!positionals[0]) throw new UsageError('mount <volumeId> [--json]');
    const m = await api('GET', `/v1/volumes/${positionals[0]}/mount`);
    if (values.json) {
      console.log(JSON.stringify(m, null, 2));
      return;
    }
    const k8s = m.kubernetes as Record<string, string>;
    const env = m.environment as { name: string; value: string; description: string }[];
    console.log(`# ${m.volumeId} (${m.engine}, ${(m.storage as Json).kind} storage)${m.secretsIncluded ? ': contains storage keys, keep it private' : ''}`);
    for (const e of env) console.log(`# replace ${e.value}: ${e.description}`);
    console.log(`${m.command}\n`);
    console.log(`# /etc/fstab\n${m.fstab}\n`);
    console.log(`# Kubernetes (JuiceFS CSI driver): kubectl apply -f -\n${[k8s.secret, k8s.persistentVolume, k8s.persistentVolumeClaim].join('---\n')}`);
    console.log('# Notes');
    for (const n of m.notes as string[]) console.log(`- ${n}`);
  },

  async cancel(args) {
    if (!args[0]) throw new UsageError('cancel <requestId>');
    const r = await api('POST', `/v1/quota-requests/${args[0]}/cancel`);
    console.log(`${r.id}: ${r.state}`);
  },
};

async function main(): Promise<number> {
  const [name, ...args] = process.argv.slice(2);
  const cmd = name ? commands[name] : undefined;
  if (!cmd) {
    console.error(`usage: npm run cli -- <${Object.keys(commands).join('|')}> ...`);
    return 2;
  }
  try {
    await cmd(args);
    return 0;
  } catch (err) {
    console.error(`error: ${(err as Error).message}`);
    return err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS') ? 2 : 1;
  }
}

process.exitCode = await main();
