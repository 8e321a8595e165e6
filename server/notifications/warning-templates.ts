/** The built-in texts of early warnings and the weekly digest (issue 18); see templates.ts. */
import type { Language, NoticeType } from './notice.js';
import { findingsBlock, folders, help, type Text } from './template-parts.js';

/** `quota.forecast_soft` and `tenant.digest` in both languages. */
export const warningTexts: Record<Extract<NoticeType, 'quota.forecast_soft' | 'tenant.digest'>, Record<Language, Text>> = {
  'quota.forecast_soft': {
    en: {
      subject: '{{volumeName}} reaches its soft limit in {{fullIn}}',
      body: `Your volume \`{{volumeName}}\` is {{usageLine}}. At this rate ({{#growthPerDay}}{{growthPerDay}} a day{{/growthPerDay}}) it goes over its soft limit of {{warnLimit}} in {{fullIn}}{{#fullAt}} (around {{fullAt}}){{/fullAt}}; after the grace period, writes stop.${folders.en}${findingsBlock.en} ${help.en}`,
    },
    zh: {
      subject: '存储卷 {{volumeName}} 预计 {{fullIn}} 后超过软限额',
      body: `您的存储卷 \`{{volumeName}}\` {{usageLine}}。按目前的增长速度（{{#growthPerDay}}每天 {{growthPerDay}}{{/growthPerDay}}），约 {{fullIn}} 后{{#fullAt}}（{{fullAt}} 前后）{{/fullAt}}超过软限额 {{warnLimit}}；宽限期过后将停止写入。${folders.zh}${findingsBlock.zh}${help.zh}`,
    },
  },
  'tenant.digest': {
    en: {
      subject: 'Weekly storage digest for {{tenantName}} ({{digestWeek}})',
      body: `Your volumes this week:\n{{digestText}}\n{{#pendingRequests}}Quota requests waiting for review: {{pendingRequests}}.\n{{/pendingRequests}}${findingsBlock.en} Request more at {{requestUrl}}.`,
    },
    zh: {
      subject: '{{tenantName}} 存储周报（{{digestWeek}}）',
      body: `本周各存储卷情况：\n{{digestText}}\n{{#pendingRequests}}待审批的扩容申请：{{pendingRequests}} 个。\n{{/pendingRequests}}${findingsBlock.zh}如需扩容请访问 {{requestUrl}}。`,
    },
  },
};
