/**
 * Notice templates: built-in defaults per type and language, which admins may override (stored
 * in PostgreSQL), and a deliberately tiny renderer: `{{name}}` inserts a value (HTML-escaped in
 * the HTML part) and `{{#name}}…{{/name}}` keeps its content only when `name` is non-empty.
 * No logic in templates: everything worth saying is computed into the variables.
 */
import type { Language, NoticeType } from './notice.js';
import { findingsBlock, folders, forecast, help, type Text } from './template-parts.js';
import { warningTexts } from './warning-templates.js';

/** One template: subject, plain text and HTML. */
export interface Template {
  subject: string;
  text: string;
  html: string;
}

/** The variables every template may use (see `message.ts` for how each is computed). */
export const templateVariables = [
  'volumeName',
  'tenantName',
  'usageLine',
  'percent',
  'used',
  'limit',
  'usedFiles',
  'fileLimit',
  'softLimit',
  'graceDeadline',
  'graceLeft',
  'fullIn',
  'topFolders',
  'toFree',
  'requestUrl',
  'enforcementUrl',
  'reasonText',
  'detail',
  'manualUntil',
  'requestId',
  'requestedBy',
  'requestReason',
  'requested',
  'granted',
  'grantUntil',
  'comment',
  'requestExplanation',
  'requestLink',
  // Early warnings and digests (issue 18).
  'warnLimitName',
  'warnLimit',
  'fullAt',
  'growthPerDay',
  'findingsText',
  'reclaimable',
  'digestWeek',
  'digestText',
  'pendingRequests',
] as const;
export type TemplateVars = Record<(typeof templateVariables)[number], string>;

/** Raised when an admin's template uses an unknown variable or an unbalanced block. */
export class TemplateError extends Error {}

const tag = /\{\{\s*([#/]?)\s*([a-zA-Z]+)\s*\}\}/g;

/** Checks a template string: known variables only, blocks balanced. */
export function checkTemplate(source: string): void {
  const open: string[] = [];
  for (const m of source.matchAll(tag)) {
    const [, kind, name] = m;
    if (!(templateVariables as readonly string[]).includes(name!)) throw new TemplateError(`unknown variable "${name}"`);
    if (kind === '#') open.push(name!);
    if (kind === '/' && open.pop() !== name) throw new TemplateError(`block "${name}" closed without being opened`);
  }
  if (open.length) throw new TemplateError(`block "${open[open.length - 1]}" is never closed`);
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Renders one template string. */
export function render(source: string, vars: TemplateVars, html = false): string {
  const blocks = /\{\{\s*#\s*([a-zA-Z]+)\s*\}\}([\s\S]*?)\{\{\s*\/\s*\1\s*\}\}/g;
  let out = source;
  // Innermost blocks first, repeated until none is left, so nesting works.
  for (let prev = ''; prev !== out;) {
    prev = out;
    out = out.replace(blocks, (_, name: string, body: string) => (vars[name as keyof TemplateVars] ? body : ''));
  }
  return out.replace(tag, (_, _kind: string, name: string) => {
    const v = vars[name as keyof TemplateVars] ?? '';
    return html ? escapeHtml(v) : v;
  });
}

const texts: Record<NoticeType, Record<Language, Text>> = {
  'quota.soft_exceeded': {
    en: {
      subject: 'Your volume {{volumeName}} is over its soft limit',
      body: `Your volume \`{{volumeName}}\` is {{usageLine}}.${forecast.en} It is over its soft limit of {{softLimit}}: writes keep working for {{graceLeft}} (until {{graceDeadline}}), then they stop until usage is back under the limit.${folders.en} ${help.en}`,
    },
    zh: {
      subject: '存储卷 {{volumeName}} 已超过软限额',
      body: `您的存储卷 \`{{volumeName}}\` {{usageLine}}。${forecast.zh}已超过软限额 {{softLimit}}：在 {{graceLeft}} 内（{{graceDeadline}} 之前）仍可写入，之后将停止写入，直到用量回到限额以下。${folders.zh}${help.zh}`,
    },
  },
  'quota.grace_ending': {
    en: {
      subject: 'Writes to {{volumeName}} stop in {{graceLeft}}',
      body: `Your volume \`{{volumeName}}\` is {{usageLine}}, over its soft limit of {{softLimit}}. Its grace period ends at {{graceDeadline}} (in {{graceLeft}}); after that, writes stop until you free {{toFree}}.${folders.en} ${help.en}`,
    },
    zh: {
      subject: '存储卷 {{volumeName}} 将在 {{graceLeft}} 后停止写入',
      body: `您的存储卷 \`{{volumeName}}\` {{usageLine}}，超过软限额 {{softLimit}}。宽限期将于 {{graceDeadline}}（{{graceLeft}} 后）结束，之后将停止写入，直到释放 {{toFree}}。${folders.zh}${help.zh}`,
    },
  },
  'quota.frozen': {
    en: {
      subject: 'Writes to {{volumeName}} are stopped',
      body: `Writes to your volume \`{{volumeName}}\` are stopped: {{reasonText}}. It is {{usageLine}}. Reading and deleting still work; writes resume once you free {{toFree}}.{{#manualUntil}} This freeze lasts until {{manualUntil}}.{{/manualUntil}}{{#detail}} Note from the admins: {{detail}}.{{/detail}}${folders.en} ${help.en}`,
    },
    zh: {
      subject: '存储卷 {{volumeName}} 已停止写入',
      body: `您的存储卷 \`{{volumeName}}\` 已停止写入：{{reasonText}}。当前{{usageLine}}。读取和删除不受影响；释放 {{toFree}} 后即可恢复写入。{{#manualUntil}}此次冻结持续到 {{manualUntil}}。{{/manualUntil}}{{#detail}}管理员备注：{{detail}}。{{/detail}}${folders.zh}${help.zh}`,
    },
  },
  'quota.unfrozen': {
    en: {
      subject: 'Writes to {{volumeName}} work again',
      body: `Good news: your volume \`{{volumeName}}\` accepts writes again ({{reasonText}}). It is {{usageLine}}. Details: {{enforcementUrl}}`,
    },
    zh: {
      subject: '存储卷 {{volumeName}} 已恢复写入',
      body: `您的存储卷 \`{{volumeName}}\` 已恢复写入（{{reasonText}}）。当前{{usageLine}}。详情：{{enforcementUrl}}`,
    },
  },
  'quota.forecast_full': {
    en: {
      subject: '{{volumeName}} will be full in {{fullIn}}',
      body: `Your volume \`{{volumeName}}\` is {{usageLine}}. At this rate ({{#growthPerDay}}{{growthPerDay}} a day{{/growthPerDay}}) it reaches its hard limit{{#warnLimit}} of {{warnLimit}}{{/warnLimit}} in {{fullIn}}{{#fullAt}} (around {{fullAt}}){{/fullAt}}, and writes will stop then.${folders.en}${findingsBlock.en} ${help.en}`,
    },
    zh: {
      subject: '存储卷 {{volumeName}} 预计 {{fullIn}} 后写满',
      body: `您的存储卷 \`{{volumeName}}\` {{usageLine}}。按目前的增长速度（{{#growthPerDay}}每天 {{growthPerDay}}{{/growthPerDay}}），约 {{fullIn}} 后{{#fullAt}}（{{fullAt}} 前后）{{/fullAt}}达到硬限额{{#warnLimit}} {{warnLimit}}{{/warnLimit}}，届时将停止写入。${folders.zh}${findingsBlock.zh}${help.zh}`,
    },
  },
  ...warningTexts,
  'quota.request_approved': {
    en: {
      subject: 'More room for {{volumeName}}: your request is approved',
      body: 'Your request for `{{volumeName}}` is approved: {{granted}}{{#grantUntil}}, until {{grantUntil}}, when the previous limits come back{{/grantUntil}}. {{requestExplanation}}{{#comment}} Note: {{comment}}{{/comment}} It is {{usageLine}}. Details: {{requestLink}}',
    },
    zh: {
      subject: '存储卷 {{volumeName}} 的扩容申请已批准',
      body: '您对 `{{volumeName}}` 的扩容申请已批准：{{granted}}{{#grantUntil}}，有效期至 {{grantUntil}}，到期后恢复原限额{{/grantUntil}}。{{requestExplanation}}{{#comment}}备注：{{comment}}{{/comment}}当前{{usageLine}}。详情：{{requestLink}}',
    },
  },
  'quota.request_denied': {
    en: {
      subject: 'Your request for {{volumeName}} was declined',
      body: `Your request for \`{{volumeName}}\` ({{requested}}) was declined: {{comment}}. It is {{usageLine}}.${folders.en} ${help.en}`,
    },
    zh: {
      subject: '存储卷 {{volumeName}} 的扩容申请未获批准',
      body: `您对 \`{{volumeName}}\` 的扩容申请（{{requested}}）未获批准：{{comment}}。当前{{usageLine}}。${folders.zh}${help.zh}`,
    },
  },
  'quota.grant_reverted': {
    en: {
      subject: 'The temporary extra room on {{volumeName}} has ended',
      body: `The temporary grant on \`{{volumeName}}\` ended, and its limits are back to {{granted}}. It is {{usageLine}}; if it is over the limits, the usual warnings and freeze apply.${folders.en} ${help.en}`,
    },
    zh: {
      subject: '存储卷 {{volumeName}} 的临时扩容已到期',
      body: `\`{{volumeName}}\` 的临时扩容已到期，限额已恢复为 {{granted}}。当前{{usageLine}}；如超出限额，将照常提醒并冻结。${folders.zh}${help.zh}`,
    },
  },
  'admin.request_pending': {
    en: {
      subject: 'Quota request for {{volumeName}} needs review',
      body: '{{requestedBy}} ({{tenantName}}) asks for {{requested}}{{#grantUntil}} until {{grantUntil}}{{/grantUntil}} on `{{volumeName}}`: "{{requestReason}}". {{requestExplanation}} The volume is {{usageLine}}. Review: {{requestLink}}',
    },
    zh: {
      subject: '存储卷 {{volumeName}} 的扩容申请待审批',
      body: '{{requestedBy}}（{{tenantName}}）为 `{{volumeName}}` 申请 {{requested}}{{#grantUntil}}，至 {{grantUntil}}{{/grantUntil}}：“{{requestReason}}”。{{requestExplanation}}当前{{usageLine}}。审批：{{requestLink}}',
    },
  },
  'admin.storage_gap': {
    en: {
      subject: 'Storage and metadata disagree on {{volumeName}}',
      body: 'Volume `{{volumeName}}` of {{tenantName}}: {{detail}}. Details: {{enforcementUrl}}',
    },
    zh: {
      subject: '存储卷 {{volumeName}} 的对象存储用量与元数据不一致',
      body: '{{tenantName}} 的存储卷 `{{volumeName}}`：{{detail}}。详情：{{enforcementUrl}}',
    },
  },
  'admin.enforcement_drift': {
    en: {
      subject: 'Enforcement of {{volumeName}} was changed behind Headroom again',
      body: 'Volume `{{volumeName}}` of {{tenantName}}: {{detail}}. Headroom put it back, but this is the second time within a day: someone or something (a `juicefs config`, an edit of filer.conf, a restore) keeps changing it. Details: {{enforcementUrl}}',
    },
    zh: {
      subject: '存储卷 {{volumeName}} 的配额设置再次被绕过 Headroom 修改',
      body: '{{tenantName}} 的存储卷 `{{volumeName}}`：{{detail}}。Headroom 已恢复设置，但这是一天内第二次：有人或程序（`juicefs config`、修改 filer.conf、恢复备份）在反复修改。详情：{{enforcementUrl}}',
    },
  },
  'admin.volume_unknown': {
    en: {
      subject: 'Headroom cannot judge volume {{volumeName}}',
      body: `Volume \`{{volumeName}}\` of {{tenantName}} is not being enforced: {{detail}}. Its enforcement state is left as it was until its data can be trusted again. Details: {{enforcementUrl}}`,
    },
    zh: {
      subject: 'Headroom 无法判断存储卷 {{volumeName}} 的状态',
      body: `{{tenantName}} 的存储卷 \`{{volumeName}}\` 暂停执行配额：{{detail}}。在数据可信之前，保持原有状态不变。详情：{{enforcementUrl}}`,
    },
  },
  // Directory quotas: `detail` is the directory's path; usage and limits are the directory's.
  'directory.soft_exceeded': {
    en: {
      subject: 'Folder {{detail}} in {{volumeName}} is over its soft limit',
      body: 'The folder `{{detail}}` in volume `{{volumeName}}` is {{usageLine}}, over its soft limit of {{softLimit}}: writes into it keep working for {{graceLeft}} (until {{graceDeadline}}), then they stop until its usage is back under the limit. Delete what you no longer need in that folder (and empty it from .trash), or request more at {{requestUrl}}.',
    },
    zh: {
      subject: '存储卷 {{volumeName}} 中的目录 {{detail}} 已超过软限额',
      body: '存储卷 `{{volumeName}}` 中的目录 `{{detail}}` {{usageLine}}，已超过软限额 {{softLimit}}：在 {{graceLeft}} 内（{{graceDeadline}} 之前）仍可写入该目录，之后将停止写入，直到用量回到限额以下。请删除该目录中不再需要的数据（并清理 .trash），或在 {{requestUrl}} 申请扩容。',
    },
  },
  'directory.soft_warning': {
    en: {
      subject: 'Folder {{detail}} in {{volumeName}} is over its soft limit',
      body: 'The folder `{{detail}}` in volume `{{volumeName}}` is {{usageLine}} by the latest walk, over its soft limit of {{softLimit}}. This volume cannot stop writes per folder, so nothing is blocked, but please delete what you no longer need there (and empty it from .trash), or request more at {{requestUrl}}.',
    },
    zh: {
      subject: '存储卷 {{volumeName}} 中的目录 {{detail}} 已超过软限额',
      body: '根据最近一次扫描，存储卷 `{{volumeName}}` 中的目录 `{{detail}}` {{usageLine}}，已超过软限额 {{softLimit}}。该存储卷无法按目录停止写入，因此不会阻止写入，但请删除该目录中不再需要的数据（并清理 .trash），或在 {{requestUrl}} 申请扩容。',
    },
  },
  'directory.frozen': {
    en: {
      subject: 'Writes into {{detail}} on {{volumeName}} are stopped',
      body: 'Writes into the folder `{{detail}}` of volume `{{volumeName}}` are stopped: {{reasonText}}. It is {{usageLine}}. Reading and deleting still work, and the rest of the volume is not affected; writes resume once you free {{toFree}} in that folder.{{#manualUntil}} This freeze lasts until {{manualUntil}}.{{/manualUntil}}',
    },
    zh: {
      subject: '存储卷 {{volumeName}} 中的目录 {{detail}} 已停止写入',
      body: '存储卷 `{{volumeName}}` 中的目录 `{{detail}}` 已停止写入：{{reasonText}}。当前{{usageLine}}。读取和删除不受影响，存储卷的其他目录也不受影响；在该目录中释放 {{toFree}} 后即可恢复写入。{{#manualUntil}}此次冻结持续到 {{manualUntil}}。{{/manualUntil}}',
    },
  },
  'directory.unfrozen': {
    en: {
      subject: 'Writes into {{detail}} on {{volumeName}} work again',
      body: 'Good news: the folder `{{detail}}` of volume `{{volumeName}}` accepts writes again ({{reasonText}}). It is {{usageLine}}.',
    },
    zh: {
      subject: '存储卷 {{volumeName}} 中的目录 {{detail}} 已恢复写入',
      body: '存储卷 `{{volumeName}}` 中的目录 `{{detail}}` 已恢复写入（{{reasonText}}）。当前{{usageLine}}。',
    },
  },
};

/** The built-in template of a type in a language. */
export function defaultTemplate(type: NoticeType, lang: Language): Template {
  const t = texts[type][lang];
  return {
    subject: t.subject,
    text: t.body,
    // The HTML part: the same words, with names in <code>.
    html: `<p>${t.body.replace(/`([^`]+)`/g, '<code>$1</code>').replace(/\n/g, '<br>')}</p>`,
  };
}
