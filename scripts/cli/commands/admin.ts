/** Admin-side commands: auto-approval rules, notifications and templates, the audit log, jobs. */
import { readFile } from 'node:fs/promises';
import { UsageError, type Json } from '../client.js';
import type { Command, CommandContext } from '../command.js';
import { required } from '../command.js';
import { table } from '../format.js';
import { cell, emit } from '../output.js';
import { pollUntil } from '../poll.js';

const strings = (v: CommandContext['values']) => Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));

function jsonOption(ctx: CommandContext, name: string): Json {
  try {
    const parsed = JSON.parse(required(ctx, name)) as unknown;
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as Json;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--${name} must be a JSON object, e.g. '{"maxPercent":50,"cooldownDays":7}'`);
  }
}

const ruleRow = (r: Json) => [r.id, r.tier, r.kind, r.position, r.enabled, JSON.stringify(r.params), r.description].map(cell);
const RULE_HEAD = ['ID', 'TIER', 'KIND', 'POS', 'ENABLED', 'PARAMS', 'DESCRIPTION'];

export const adminCommands: Command[] = [
  {
    name: 'rules',
    summary: 'Auto-approval rules, in evaluation order.',
    options: { tier: { type: 'string' } },
    async run(ctx) {
      const q = new URLSearchParams(strings(ctx.values));
      const items = (await ctx.api.call('GET', `/v1/quota-rules?${q}`)).items as Json[];
      emit(ctx, items, () => ctx.out(table(RULE_HEAD, items.map(ruleRow))));
    },
  },
  {
    name: 'rules create',
    summary: 'Add an auto-approval rule (admin).',
    options: { tier: { type: 'string' }, kind: { type: 'string' }, params: { type: 'string' }, position: { type: 'string' }, disabled: { type: 'boolean' }, description: { type: 'string' } },
    optionHelp: [
      '--tier TIER      which tenants it applies to',
      '--kind K         percent_increase | temporary_grant | tier_ceiling',
      '--params JSON    e.g. \'{"maxPercent":50,"cooldownDays":7}\'',
      '--position N     evaluation order (default 100)',
      '--disabled       create it switched off',
    ],
    async run(ctx) {
      const body: Json = { tier: required(ctx, 'tier'), kind: required(ctx, 'kind'), params: jsonOption(ctx, 'params') };
      if (ctx.values.position) body.position = Number(ctx.values.position);
      if (ctx.values.disabled) body.enabled = false;
      if (ctx.values.description) body.description = ctx.values.description;
      const r = await ctx.api.call('POST', '/v1/quota-rules', body);
      emit(ctx, r, () => ctx.out(table(RULE_HEAD, [ruleRow(r)])));
    },
  },
  {
    name: 'rules delete',
    args: ['<ruleId>'],
    summary: 'Remove an auto-approval rule (admin).',
    async run(ctx) {
      await ctx.api.call('DELETE', `/v1/quota-rules/${encodeURIComponent(ctx.args[0]!)}`);
      emit(ctx, { deleted: ctx.args[0] }, () => ctx.out(`${ctx.args[0]}: deleted`));
    },
  },
  {
    name: 'notifications',
    summary: 'Notices sent (and how each delivery went).',
    options: { volume: { type: 'string' }, type: { type: 'string' }, audience: { type: 'string' } },
    optionHelp: ['--volume ID', '--type T         a notice type, e.g. frozen', '--audience tenant|admins'],
    async run(ctx) {
      const { volume, ...rest } = strings(ctx.values);
      const items = await ctx.api.all('/v1/notifications', { ...rest, volumeId: volume });
      emit(ctx, items, () =>
        ctx.out(
          table(
            ['ID', 'AT', 'TYPE', 'AUDIENCE', 'VOLUME', 'DELIVERIES'],
            items.map((n) => [n.id, n.createdAt, n.type, n.audience, n.volumeId, (n.deliveries as Json[]).map((d) => `${d.channel}:${d.state}`).join(' ') || 'none (no channel configured)'].map(cell)),
          ),
        ),
      );
    },
  },
  {
    name: 'templates',
    summary: 'Notification templates (admin): which are overridden.',
    async run(ctx) {
      const t = await ctx.api.call('GET', '/v1/notification-templates');
      const items = t.items as Json[];
      emit(ctx, items, () =>
        ctx.out(
          table(
            ['TYPE', 'LANG', 'OVERRIDDEN', 'SUBJECT'],
            items.map((i) => [i.type, i.language, i.overridden, i.subject].map(cell)),
          ),
        ),
      );
    },
  },
  {
    name: 'templates set',
    args: ['<type>', '<language>'],
    summary: 'Override a template from files (admin).',
    options: { subject: { type: 'string' }, text: { type: 'string' }, html: { type: 'string' } },
    optionHelp: ['--subject TEXT', '--text FILE    plain-text body', '--html FILE    HTML body'],
    async run(ctx) {
      const body = { subject: required(ctx, 'subject'), text: await readFile(required(ctx, 'text'), 'utf8'), html: await readFile(required(ctx, 'html'), 'utf8') };
      const t = await ctx.api.call('PUT', `/v1/notification-templates/${encodeURIComponent(ctx.args[0]!)}/${encodeURIComponent(ctx.args[1]!)}`, body);
      emit(ctx, t, () => ctx.out(`${t.type}/${t.language}: overridden by ${t.updatedBy}`));
    },
  },
  {
    name: 'templates reset',
    args: ['<type>', '<language>'],
    summary: 'Go back to the built-in template (admin).',
    async run(ctx) {
      const t = await ctx.api.call('DELETE', `/v1/notification-templates/${encodeURIComponent(ctx.args[0]!)}/${encodeURIComponent(ctx.args[1]!)}`);
      emit(ctx, t, () => ctx.out(`${ctx.args[0]}/${ctx.args[1]}: built-in`));
    },
  },
  {
    name: 'audit',
    summary: 'The audit log, newest first (admins see all; others their tenants).',
    options: {
      tenant: { type: 'string' },
      entity: { type: 'string' },
      id: { type: 'string' },
      action: { type: 'string' },
      actor: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
    },
    optionHelp: ['--tenant ID  --entity TYPE  --id ENTITY_ID  --action A  --actor SUB', '--since/--until ISO   --limit N (default 50)'],
    async run(ctx) {
      const v = strings(ctx.values);
      const q = new URLSearchParams(
        Object.entries({ tenantId: v.tenant, entityType: v.entity, entityId: v.id, action: v.action, actor: v.actor, since: v.since, until: v.until, limit: v.limit ?? '50' }).filter(
          (e): e is [string, string] => e[1] !== undefined,
        ),
      );
      const page = await ctx.api.call('GET', `/v1/audit?${q}`);
      const items = page.items as Json[];
      emit(ctx, page, () =>
        ctx.out(
          table(
            ['AT', 'ACTOR', 'ACTION', 'ENTITY', 'TENANT'],
            items.map((e) => [e.at, `${e.actor} (${e.actorRole})`, e.action, `${e.entityType}/${e.entityId}`, e.tenantId].map(cell)),
          ),
        ),
      );
    },
  },
  {
    name: 'jobs',
    summary: 'Scheduled jobs and their last runs (admin).',
    async run(ctx) {
      const j = await ctx.api.call('GET', '/v1/jobs');
      const items = j.items as Json[];
      emit(ctx, items, () =>
        ctx.out(
          table(
            ['JOB', 'CRON', 'LAST RUN', 'STATE', 'ERROR'],
            items.map((x) => {
              const last = (x.lastRuns as Json[])[0];
              return [x.name, x.cron, last?.startedAt, last?.state, last?.error].map(cell);
            }),
          ),
        ),
      );
    },
  },
  {
    name: 'jobs run',
    args: ['<name>'],
    summary: 'Run a job now (admin); --wait polls until it ends.',
    options: { wait: { type: 'boolean' } },
    async run(ctx) {
      const name = encodeURIComponent(ctx.args[0]!);
      let r = await ctx.api.call('POST', `/v1/jobs/${name}/runs`);
      const run = (x: Json) => ctx.api.call('GET', `/v1/jobs/${name}/runs/${x.id}`);
      if (ctx.values.wait) r = await pollUntil(r, (x) => x.state !== 'running', run);
      emit(ctx, r, () => ctx.out(`${r.id}: ${r.state}${r.error ? ` (${r.error})` : ''} ${JSON.stringify(r.counts)}`));
    },
  },
];
