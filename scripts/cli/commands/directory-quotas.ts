/** `dirquotas …`: quotas on directories inside a volume, their checks, freezes and requests. */
import type { Json } from '../client.js';
import type { Command, CommandContext } from '../command.js';
import { required } from '../command.js';
import { size, table } from '../format.js';
import { cell, emit, limitHelp, limitOptions, limitsFrom, limitText } from '../output.js';

const base = (ctx: CommandContext) => `/v1/volumes/${encodeURIComponent(ctx.args[0]!)}/directory-quotas`;
const one = (ctx: CommandContext) => `${base(ctx)}/${encodeURIComponent(ctx.args[1]!)}`;

function row(q: Json): string[] {
  const u = q.usage as Json | null;
  const e = q.enforcement as Json;
  return [q.id, q.path, q.ownerSub, q.managed ? 'yes' : 'no', size(u?.usedBytes as number | undefined), limitText(q.quota as Json), e.state].map(cell);
}
const HEAD = ['ID', 'PATH', 'OWNER', 'MANAGED', 'USED', 'LIMITS', 'STATE'];
const show = (ctx: CommandContext, q: Json) => ctx.out(table(HEAD, [row(q)]));

export const directoryQuotaCommands: Command[] = [
  {
    name: 'dirquotas',
    args: ['<volumeId>'],
    summary: "Quotas on the volume's directories (engineers: the ones they own).",
    async run(ctx) {
      const items = await ctx.api.all(base(ctx));
      emit(ctx, items, () => ctx.out(table(HEAD, items.map(row))));
    },
  },
  {
    name: 'dirquotas create',
    args: ['<volumeId>'],
    summary: 'Put a quota on a directory (written as `juicefs quota set` writes it).',
    options: { path: { type: 'string' }, owner: { type: 'string' }, grace: { type: 'string' }, ...limitOptions },
    optionHelp: ['--path /a/b     the directory (it must exist)', '--owner SUB     an engineer who may see it and ask for more', '--grace SECONDS', ...limitHelp],
    async run(ctx) {
      const body: Json = { path: required(ctx, 'path'), ...limitsFrom(ctx.values) };
      if (ctx.values.owner) body.ownerSub = ctx.values.owner;
      if (ctx.values.grace) body.graceSeconds = Number(ctx.values.grace);
      const q = await ctx.api.call('POST', base(ctx), body);
      emit(ctx, q, () => show(ctx, q));
    },
  },
  {
    name: 'dirquotas show',
    args: ['<volumeId>', '<quotaId>'],
    summary: 'One directory quota: usage, limits, state and what JuiceFS holds.',
    async run(ctx) {
      const q = await ctx.api.call('GET', one(ctx));
      emit(ctx, q, () => {
        show(ctx, q);
        ctx.out(`juicefs: ${JSON.stringify(q.juicefs)}`);
      });
    },
  },
  {
    name: 'dirquotas delete',
    args: ['<volumeId>', '<quotaId>'],
    summary: 'Remove a quota (as `juicefs quota delete` does).',
    async run(ctx) {
      const q = await ctx.api.call('DELETE', one(ctx));
      emit(ctx, q, () => ctx.out(`${ctx.args[1]}: deleted`));
    },
  },
  {
    name: 'dirquotas check',
    args: ['<volumeId>', '<quotaId>'],
    summary: "Compare the record's usage with the subtree (`juicefs quota check`); --repair fixes it (admin).",
    options: { repair: { type: 'boolean' } },
    async run(ctx) {
      const c = await ctx.api.call('POST', `${one(ctx)}/check`, ctx.values.repair ? { repair: true } : {});
      emit(ctx, c, () => ctx.out(`${c.consistent ? 'consistent' : 'drift'}: recorded ${JSON.stringify(c.recorded)}, actual ${JSON.stringify(c.actual)}${c.repaired ? ' (repaired)' : ''}`));
    },
  },
  {
    name: 'dirquotas freeze',
    args: ['<volumeId>', '<quotaId>'],
    summary: 'Freeze writes under a directory (admin): its JuiceFS hard limit is clamped to its usage.',
    options: { reason: { type: 'string' }, until: { type: 'string' } },
    async run(ctx) {
      const q = await ctx.api.call('POST', `${one(ctx)}/freeze`, { reason: required(ctx, 'reason'), ...(ctx.values.until ? { until: ctx.values.until } : {}) });
      emit(ctx, q, () => show(ctx, q));
    },
  },
  {
    name: 'dirquotas unfreeze',
    args: ['<volumeId>', '<quotaId>'],
    summary: 'Lift a manual freeze of a directory (admin).',
    options: { reason: { type: 'string' } },
    async run(ctx) {
      const q = await ctx.api.call('POST', `${one(ctx)}/unfreeze`, { reason: required(ctx, 'reason') });
      emit(ctx, q, () => show(ctx, q));
    },
  },
  {
    name: 'dirquotas request',
    args: ['<volumeId>', '<quotaId>'],
    summary: 'Ask for more room in a directory (its owner or an admin); --dry-run files nothing.',
    options: { ...limitOptions, reason: { type: 'string' }, until: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    optionHelp: [...limitHelp, '--reason TEXT   required', '--until ISO     a temporary grant', '--dry-run       say what filing would do'],
    async run(ctx) {
      const body = { ...limitsFrom(ctx.values), reason: required(ctx, 'reason'), ...(ctx.values.until ? { until: ctx.values.until } : {}) };
      const r = await ctx.api.call('POST', `${one(ctx)}/requests${ctx.values['dry-run'] ? '/preview' : ''}`, body);
      emit(ctx, r, () =>
        ctx.out(
          ctx.values['dry-run']
            ? `${r.wouldApprove ? `would be approved at once by rule ${r.ruleId}` : 'would wait for an admin'}: ${r.explanation}`
            : `${r.id}: ${r.state}${r.ruleId ? ` by rule ${r.ruleId}` : ''}`,
        ),
      );
    },
  },
];
