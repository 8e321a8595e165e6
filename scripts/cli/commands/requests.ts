/** Quota requests: file one, list and show them, and an admin's approve / deny / cancel. */
import type { Json } from '../client.js';
import type { Command, CommandContext } from '../command.js';
import { required } from '../command.js';
import { table } from '../format.js';
import { cell, emit, limitHelp, limitOptions, limitsFrom, limitText } from '../output.js';

function showRequest(ctx: CommandContext, r: Json): void {
  ctx.out(`${r.id}: ${r.state}${r.ruleId ? ` by rule ${r.ruleId}` : ''}`);
  ctx.out(`volume: ${r.volumeId} (tenant ${r.tenantId}), asked by ${r.requestedBy} at ${r.createdAt}: ${r.reason}`);
  ctx.out(`asked:   ${limitText(r.requested as Json)}${r.until ? ` until ${r.until}` : ''}`);
  ctx.out(`granted: ${limitText(r.granted as Json | null)}`);
  ctx.out(`before:  ${limitText(r.previous as Json | null)}`);
  if (r.decidedBy) ctx.out(`decided by ${r.decidedBy} at ${r.decidedAt}${r.comment ? `: ${r.comment}` : ''}`);
  if (r.revertedAt) ctx.out(`reverted at ${r.revertedAt}`);
  if (r.explanation) ctx.out(String(r.explanation));
}

const req = (ctx: CommandContext) => `/v1/quota-requests/${encodeURIComponent(ctx.args[0]!)}`;

export const requestCommands: Command[] = [
  {
    name: 'request',
    args: ['<volumeId>'],
    summary: 'Ask for more room; a rule may approve it at once, or it waits for an admin.',
    options: { ...limitOptions, reason: { type: 'string' }, until: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    optionHelp: [...limitHelp, '--reason TEXT   required', '--until ISO     a temporary grant, reverted then', '--dry-run       say what filing would do, file nothing'],
    async run(ctx) {
      const body = { ...limitsFrom(ctx.values), reason: required(ctx, 'reason'), ...(ctx.values.until ? { until: ctx.values.until } : {}) };
      if (ctx.values['dry-run']) {
        const p = await ctx.api.call('POST', `/v1/volumes/${encodeURIComponent(ctx.args[0]!)}/quota-requests/preview`, body);
        emit(ctx, p, () => ctx.out(`${p.wouldApprove ? `would be approved at once by rule ${p.ruleId}` : 'would wait for an admin'}: ${p.explanation}`));
        return;
      }
      const r = await ctx.api.call('POST', `/v1/volumes/${encodeURIComponent(ctx.args[0]!)}/quota-requests`, body);
      emit(ctx, r, () => showRequest(ctx, r));
    },
  },
  {
    name: 'requests',
    summary: 'Quota requests: admins see all, engineers their own; with what was asked and granted.',
    options: { state: { type: 'string' }, volume: { type: 'string' } },
    optionHelp: ['--state S     pending, approved, denied, cancelled, reverted', '--volume ID   one volume only'],
    async run(ctx) {
      const items = await ctx.api.all('/v1/quota-requests', { state: ctx.values.state as string | undefined, volumeId: ctx.values.volume as string | undefined });
      emit(ctx, items, () =>
        ctx.out(
          table(
            ['ID', 'VOLUME', 'STATE', 'ASKED', 'GRANTED', 'UNTIL', 'BY', 'CREATED'],
            items.map((r) => [r.id, r.volumeId, r.state, limitText(r.requested as Json), limitText(r.granted as Json | null), r.until, r.requestedBy, r.createdAt].map(cell)),
          ),
        ),
      );
    },
  },
  {
    name: 'requests show',
    args: ['<requestId>'],
    summary: 'One quota request in full.',
    async run(ctx) {
      const r = await ctx.api.call('GET', req(ctx));
      emit(ctx, r, () => showRequest(ctx, r));
    },
  },
  {
    name: 'approve',
    args: ['<requestId>'],
    summary: 'Approve a pending request (admin), optionally with other numbers.',
    options: { ...limitOptions, until: { type: 'string' }, permanent: { type: 'boolean' }, comment: { type: 'string' } },
    optionHelp: [...limitHelp, '--until ISO | --permanent   make the grant temporary, or not', '--comment TEXT'],
    async run(ctx) {
      const body = {
        ...limitsFrom(ctx.values),
        ...(ctx.values.comment ? { comment: ctx.values.comment } : {}),
        ...(ctx.values.until ? { until: ctx.values.until } : {}),
        ...(ctx.values.permanent ? { until: null } : {}),
      };
      const r = await ctx.api.call('POST', `${req(ctx)}/approve`, body);
      emit(ctx, r, () => ctx.out(`${r.id}: ${r.state}, granted ${limitText(r.granted as Json)}${r.until ? ` until ${r.until}` : ''}`));
    },
  },
  {
    name: 'deny',
    args: ['<requestId>'],
    summary: 'Deny a pending request (admin).',
    options: { reason: { type: 'string' } },
    optionHelp: ['--reason TEXT   required; sent to the engineer'],
    async run(ctx) {
      const r = await ctx.api.call('POST', `${req(ctx)}/deny`, { reason: required(ctx, 'reason') });
      emit(ctx, r, () => ctx.out(`${r.id}: ${r.state}`));
    },
  },
  {
    name: 'cancel',
    args: ['<requestId>'],
    summary: 'Withdraw a pending request (its author or an admin).',
    async run(ctx) {
      const r = await ctx.api.call('POST', `${req(ctx)}/cancel`);
      emit(ctx, r, () => ctx.out(`${r.id}: ${r.state}`));
    },
  },
];
