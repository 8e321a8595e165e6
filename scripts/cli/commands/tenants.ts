/** `tenants …`: list, show, create and update tenants (platform and admins). */
import type { Command } from '../command.js';
import { required } from '../command.js';
import { table } from '../format.js';
import { cell, emit } from '../output.js';
import type { Json } from '../client.js';

const fields = { name: { type: 'string' }, email: { type: 'string' }, language: { type: 'string' }, tier: { type: 'string' }, webhook: { type: 'string' } } as const;
const fieldHelp = ['--name TEXT       display name', '--email ADDRESS   where notices go', '--language en|zh', '--tier TIER', '--webhook URL     notices webhook ("none" removes it)'];

function body(v: Record<string, string | boolean | undefined>): Json {
  const b: Json = {};
  if (v.name) b.displayName = v.name;
  if (v.email) b.email = v.email;
  if (v.language) b.language = v.language;
  if (v.tier) b.tier = v.tier;
  if (v.webhook) b.webhookUrl = v.webhook === 'none' ? null : v.webhook;
  return b;
}

const showTenant = (out: (l: string) => void, t: Json) => {
  for (const k of ['id', 'displayName', 'email', 'language', 'tier', 'webhookUrl', 'createdAt']) out(`${k}: ${cell(t[k])}`);
};

export const tenantCommands: Command[] = [
  {
    name: 'tenants',
    summary: 'List the tenants this token can see.',
    async run(ctx) {
      const items = await ctx.api.all('/v1/tenants');
      emit(ctx, items, () =>
        ctx.out(
          table(
            ['ID', 'NAME', 'EMAIL', 'LANG', 'TIER'],
            items.map((t) => [t.id, t.displayName, t.email, t.language, t.tier].map(cell)),
          ),
        ),
      );
    },
  },
  {
    name: 'tenants show',
    args: ['<tenantId>'],
    summary: 'Show one tenant.',
    async run(ctx) {
      const t = await ctx.api.call('GET', `/v1/tenants/${encodeURIComponent(ctx.args[0]!)}`);
      emit(ctx, t, () => showTenant(ctx.out, t));
    },
  },
  {
    name: 'tenants create',
    args: ['<tenantId>'],
    summary: 'Create a tenant (platform or admin).',
    options: fields,
    optionHelp: fieldHelp,
    async run(ctx) {
      const t = await ctx.api.call('POST', '/v1/tenants', { id: ctx.args[0], ...body(ctx.values), displayName: required(ctx, 'name'), email: required(ctx, 'email') });
      emit(ctx, t, () => showTenant(ctx.out, t));
    },
  },
  {
    name: 'tenants update',
    args: ['<tenantId>'],
    summary: 'Change a tenant; only the fields given change.',
    options: fields,
    optionHelp: fieldHelp,
    async run(ctx) {
      const t = await ctx.api.call('PATCH', `/v1/tenants/${encodeURIComponent(ctx.args[0]!)}`, body(ctx.values));
      emit(ctx, t, () => showTenant(ctx.out, t));
    },
  },
];
