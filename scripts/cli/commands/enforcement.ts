/** `enforcement`, `freeze`, `unfreeze`: why a volume is frozen, and an admin's hand on it. */
import type { Json } from '../client.js';
import type { Command, CommandContext } from '../command.js';
import { required } from '../command.js';
import { size, table } from '../format.js';
import { cell, emit } from '../output.js';

/** Prints an Enforcement answer: state, numbers, the explanation, what to do, layers, history. */
function showEnforcement(ctx: CommandContext, e: Json): void {
  const limits = e.limits as Json;
  const u = e.usage as Json | null;
  ctx.out(`state: ${e.state} (${e.reason}) since ${e.since}${e.graceDeadline ? `, grace until ${e.graceDeadline}` : ''}`);
  ctx.out(`usage: ${size(u?.bytes as number)} in ${u?.inodes ?? '-'} files; limits: soft ${size(limits.softBytes as number | null)}, hard ${size(limits.hardBytes as number | null)}`);
  ctx.out(`\n${e.explanation}\n`);
  for (const step of e.whatYouCanDo as string[]) ctx.out(`- ${step}`);
  const layers = Object.values((e.layerStatus as Record<string, Json | null>) ?? {}).filter((l): l is Json => l !== null);
  if (layers.length) {
    ctx.out('');
    ctx.out(
      table(
        ['LAYER', 'DESIRED', 'OBSERVED', 'IN SYNC', 'VERIFIED'],
        layers.map((l) => [l.layer, l.desired, l.observed, l.inSync, l.verifiedAt].map(cell)),
      ),
    );
  }
  const history = e.history as Json[];
  if (history.length) {
    ctx.out('');
    ctx.out(
      table(
        ['AT', 'FROM', 'TO', 'REASON', 'USED', 'BY'],
        history.map((h) => [h.at, h.from, h.to, h.reason, size(h.bytes as number | null), h.actor].map(cell)),
      ),
    );
  }
}

const vol = (ctx: CommandContext) => `/v1/volumes/${encodeURIComponent(ctx.args[0]!)}`;

export const enforcementCommands: Command[] = [
  {
    name: 'enforcement',
    args: ['<volumeId>'],
    summary: 'Why a volume is (or is not) frozen, and what to do about it.',
    async run(ctx) {
      const e = await ctx.api.call('GET', `${vol(ctx)}/enforcement`);
      emit(ctx, e, () => showEnforcement(ctx, e));
    },
  },
  {
    name: 'freeze',
    args: ['<volumeId>'],
    summary: 'Freeze writes to a volume by hand (admin).',
    options: { reason: { type: 'string' }, until: { type: 'string' } },
    optionHelp: ['--reason TEXT   required; shown to the volume owner', '--until ISO     lift it by itself then (default: until an admin unfreezes)'],
    async run(ctx) {
      const e = await ctx.api.call('POST', `${vol(ctx)}/freeze`, { reason: required(ctx, 'reason'), ...(ctx.values.until ? { until: ctx.values.until } : {}) });
      emit(ctx, e, () => showEnforcement(ctx, e));
    },
  },
  {
    name: 'unfreeze',
    args: ['<volumeId>'],
    summary: 'Lift a manual freeze (admin).',
    options: { reason: { type: 'string' } },
    optionHelp: ['--reason TEXT   required; recorded in the audit log'],
    async run(ctx) {
      const e = await ctx.api.call('POST', `${vol(ctx)}/unfreeze`, { reason: required(ctx, 'reason') });
      emit(ctx, e, () => showEnforcement(ctx, e));
    },
  },
];
