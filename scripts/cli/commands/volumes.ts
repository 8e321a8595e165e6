/** `volumes …`, `usage`, `history`, `directories`, `walk`, `mount`: a volume and what fills it. */
import type { Json } from '../client.js';
import type { Command, CommandContext } from '../command.js';
import { required } from '../command.js';
import { size, table } from '../format.js';
import { cell, emit, limitHelp, limitOptions, limitsFrom, limitText } from '../output.js';
import { pollUntil } from '../poll.js';

const vol = (ctx: CommandContext) => `/v1/volumes/${encodeURIComponent(ctx.args[0]!)}`;

function showVolume(ctx: CommandContext, v: Json): void {
  for (const k of ['id', 'tenantId', 'name', 'engine', 'state', 'metaUrl', 'createdAt']) ctx.out(`${k}: ${cell(v[k])}`);
  ctx.out(`quota: ${limitText(v.quota as Json)}`);
  const creds = v.credentials as Json | undefined;
  if (creds) ctx.out(`storage keys (shown once, keep them): ${creds.accessKey} ${creds.secretKey}`);
}

export const volumeCommands: Command[] = [
  {
    name: 'volumes',
    summary: 'List volumes with usage, limits and enforcement state.',
    options: { tenant: { type: 'string' }, state: { type: 'string' } },
    optionHelp: ['--tenant ID     only this tenant', '--state S      active, deleting or purged'],
    async run(ctx) {
      const items = await ctx.api.all('/v1/volumes', { tenantId: ctx.values.tenant as string | undefined, state: ctx.values.state as string | undefined });
      const rows: string[][] = [];
      for (const v of items) {
        const used = v.state === 'active' ? await ctx.api.call('GET', `/v1/volumes/${v.id}/usage`).catch(() => ({}) as Json) : ({} as Json);
        v.usage = used;
        const hard = (v.quota as Json).hardBytes as number | null;
        const pct = used.usedBytes !== undefined && hard ? `${Math.floor(((used.usedBytes as number) * 100) / hard)}%` : '-';
        rows.push([v.id, v.tenantId, v.name, v.engine, v.state, size(used.usedBytes as number | undefined), size(hard), pct, used.state].map(cell));
      }
      emit(ctx, items, () => ctx.out(table(['ID', 'TENANT', 'NAME', 'ENGINE', 'STATE', 'USED', 'HARD', 'USE%', 'ENFORCEMENT'], rows)));
    },
  },
  {
    name: 'volumes show',
    args: ['<volumeId>'],
    summary: 'Show one volume.',
    async run(ctx) {
      const v = await ctx.api.call('GET', vol(ctx));
      emit(ctx, v, () => showVolume(ctx, v));
    },
  },
  {
    name: 'volumes create',
    args: ['<tenantId>', '<name>'],
    summary: 'Create (format) a volume; the storage keys of a new tenant are printed once.',
    options: { engine: { type: 'string' }, adopt: { type: 'string' }, ...limitOptions },
    optionHelp: ['--engine E       local, etcd, tikv or redis (the server default otherwise)', '--adopt URL      register an existing JuiceFS volume by its meta URL', ...limitHelp],
    async run(ctx) {
      const quota = limitsFrom(ctx.values);
      const body: Json = { name: ctx.args[1], ...(Object.keys(quota).length ? { quota } : {}) };
      if (ctx.values.engine) body.engine = ctx.values.engine;
      if (ctx.values.adopt) body.adopt = { metaUrl: ctx.values.adopt };
      const v = await ctx.api.call('POST', `/v1/tenants/${encodeURIComponent(ctx.args[0]!)}/volumes`, body);
      emit(ctx, v, () => showVolume(ctx, v));
    },
  },
  {
    name: 'volumes delete',
    args: ['<volumeId>'],
    summary: 'Delete a volume (soft: its data stays until purged; its prefix is never reused).',
    async run(ctx) {
      const v = await ctx.api.call('DELETE', vol(ctx));
      emit(ctx, v, () => ctx.out(`${v.id}: ${v.state}`));
    },
  },
  {
    name: 'volumes purge',
    args: ['<volumeId>'],
    summary: "Remove a deleted volume's metadata and data for good (admin).",
    options: { confirm: { type: 'string' } },
    optionHelp: ['--confirm NAME   the volume name, repeated as a guard'],
    async run(ctx) {
      const v = await ctx.api.call('POST', `${vol(ctx)}/purge`, { confirm: required(ctx, 'confirm') });
      emit(ctx, v, () => ctx.out(`${v.id}: ${v.state}`));
    },
  },
  {
    name: 'usage',
    args: ['<volumeId>'],
    summary: 'Current usage, limits, state and forecast of a volume.',
    async run(ctx) {
      const u = await ctx.api.call('GET', `${vol(ctx)}/usage`);
      emit(ctx, u, () => {
        const f = u.forecast as Json | null;
        ctx.out(`used: ${size(u.usedBytes as number)} in ${u.usedInodes} inodes (read ${u.readAt})`);
        ctx.out(`limits: ${limitText(u.limits as Json)}`);
        ctx.out(`state: ${u.state}${u.percentOfHardBytes !== null ? `, ${u.percentOfHardBytes}% of the hard byte limit` : ''}`);
        ctx.out(`forecast: ${f ? `full at ${f.fullAt} (${size(f.bytesPerDay as number)}/day)` : 'none'}`);
        for (const s of u.whatYouCanDo as string[]) ctx.out(`- ${s}`);
      });
    },
  },
  {
    name: 'history',
    args: ['<volumeId>'],
    summary: 'Usage samples over time.',
    options: { since: { type: 'string' }, until: { type: 'string' }, resolution: { type: 'string' } },
    optionHelp: ['--since/--until ISO-8601 times (default: the last 30 days)', '--resolution raw|hour|day'],
    async run(ctx) {
      const q = new URLSearchParams(Object.entries(ctx.values).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const h = await ctx.api.call('GET', `${vol(ctx)}/usage/history?${q}`);
      const samples = h.samples as Json[];
      emit(ctx, h, () =>
        ctx.out(
          table(
            ['AT', 'BYTES', 'INODES', 'RESOLUTION'],
            samples.map((s) => [s.at, size(s.bytes as number), s.inodes, s.resolution].map(cell)),
          ),
        ),
      );
    },
  },
  {
    name: 'directories',
    args: ['<volumeId>'],
    summary: 'The largest directories from the last walk.',
    options: { depth: { type: 'string' }, limit: { type: 'string' }, sort: { type: 'string' } },
    optionHelp: ['--depth N    deepest level (root is 0; default 2)', '--limit N    rows (default 50)', '--sort bytes|inodes|logicalBytes'],
    async run(ctx) {
      const q = new URLSearchParams(Object.entries(ctx.values).filter((e): e is [string, string] => typeof e[1] === 'string'));
      const d = await ctx.api.call('GET', `${vol(ctx)}/directories?${q}`);
      const walk = d.walk as Json | null;
      emit(ctx, d, () => {
        ctx.out(walk ? `walk ${walk.id} (${walk.state}, finished ${cell(walk.finishedAt)})` : 'no walk yet: start one with `npm run cli -- walk <volumeId>`');
        ctx.out(
          table(
            ['PATH', 'BYTES', 'INODES', 'FILES', 'DIRS'],
            (d.items as Json[]).map((r) => [r.path, size(r.bytes as number), r.inodes, r.files, r.dirs].map(cell)),
          ),
        );
      });
    },
  },
  {
    name: 'walk',
    args: ['<volumeId>'],
    summary: 'Start a full directory walk (admin); --wait polls until it ends.',
    options: { wait: { type: 'boolean' } },
    optionHelp: ['--wait   poll until the walk has finished, then print it'],
    async run(ctx) {
      let s = await ctx.api.call('POST', `${vol(ctx)}/walks`);
      const ended = (x: Json) => x.state !== 'queued' && x.state !== 'running';
      if (ctx.values.wait) s = await pollUntil(s, ended, (x) => ctx.api.call('GET', `${vol(ctx)}/walks/${x.id}`));
      emit(ctx, s, () => ctx.out(`${s.id}: ${s.state}${s.error ? ` (${s.error})` : ''}, ${s.keysRead} keys read`));
    },
  },
  {
    name: 'walks show',
    args: ['<volumeId>', '<walkId>'],
    summary: 'One walk and its result.',
    async run(ctx) {
      const s = await ctx.api.call('GET', `${vol(ctx)}/walks/${encodeURIComponent(ctx.args[1]!)}`);
      emit(ctx, s, () => ctx.out(JSON.stringify(s, null, 2)));
    },
  },
  {
    name: 'mount',
    args: ['<volumeId>'],
    summary: 'How to mount the volume: juicefs command, fstab line, CSI manifests.',
    async run(ctx) {
      const m = await ctx.api.call('GET', `${vol(ctx)}/mount`);
      emit(ctx, m, () => {
        const k8s = m.kubernetes as Record<string, string>;
        const env = m.environment as { name: string; value: string; description: string }[];
        ctx.out(`# ${m.volumeId} (${m.engine}, ${(m.storage as Json).kind} storage)${m.secretsIncluded ? ': contains storage keys, keep it private' : ''}`);
        for (const e of env) ctx.out(`# replace ${e.value}: ${e.description}`);
        ctx.out(`${m.command}\n`);
        ctx.out(`# /etc/fstab\n${m.fstab}\n`);
        ctx.out(`# Kubernetes (JuiceFS CSI driver): kubectl apply -f -\n${[k8s.secret, k8s.persistentVolume, k8s.persistentVolumeClaim].join('---\n')}`);
        ctx.out('# Notes');
        for (const n of m.notes as string[]) ctx.out(`- ${n}`);
      });
    },
  },
];
