/** Sentences several notice templates share (server/notifications/templates.ts). */

/** A type's words in one language: the body is the plain-text part (HTML is derived from it). */
export type Text = { subject: string; body: string };

// JuiceFS >= 1.0 keeps deleted files in .trash, still counted, for TrashDays: say so, or people
// delete, see nothing change, and delete more.
export const help = {
  en: 'To get more room, delete what you no longer need (old checkpoints, caches, duplicated datasets), then empty it from the .trash folder at the top of the volume, where deleted files keep counting until they are purged; or request more at {{requestUrl}}. Details: {{enforcementUrl}}',
  zh: '如需更多空间，请删除不再需要的数据（旧的 checkpoint、缓存、重复的数据集），并清理存储卷根目录下的 .trash（已删除的文件在被清除前仍计入用量）；或在 {{requestUrl}} 申请扩容。详情：{{enforcementUrl}}',
};
export const folders = {
  en: '{{#topFolders}} The largest folders are {{topFolders}}.{{/topFolders}}',
  zh: '{{#topFolders}}占用最多的目录：{{topFolders}}。{{/topFolders}}',
};
export const forecast = {
  en: '{{#fullIn}} At this rate it is full in {{fullIn}}.{{/fullIn}}',
  zh: '{{#fullIn}}按目前的增长速度，约 {{fullIn}} 后写满。{{/fullIn}}',
};

// What the latest walk found, and what to do about it (early warnings, digests).
export const findingsBlock = {
  en: '{{#findingsText}} What could go ({{reclaimable}} in all):\n{{findingsText}}\n{{/findingsText}}',
  zh: '{{#findingsText}}可清理的数据（共 {{reclaimable}}）：\n{{findingsText}}\n{{/findingsText}}',
};
