/**
 * Turns a notice's data into the words its templates use: percentages, human sizes, "full in
 * 3 days", the largest folders, what to delete. Computed at delivery time, in the recipient's
 * language, so a template edit applies to notices already queued.
 */
import { humanBytes, humanCount, humanDuration, humanTime } from './humanize.js';
import type { Language, NoticeData } from './notice.js';
import type { TemplateVars } from './templates.js';

const big = (s: string | null | undefined) => (s === null || s === undefined ? null : BigInt(s));

function percentOf(used: bigint, limit: bigint | null): string {
  if (limit === null || limit === 0n) return '';
  return String((used * 100n) / limit);
}

function joinList(items: string[], lang: Language): string {
  if (items.length <= 1) return items.join('');
  if (lang === 'zh') return `${items.slice(0, -1).join('、')} 和 ${items[items.length - 1]}`;
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

function reasonText(d: NoticeData, lang: Language): string {
  const hard = d.limits.hardBytes ? humanBytes(BigInt(d.limits.hardBytes)) : '';
  const soft = d.limits.softBytes ? humanBytes(BigInt(d.limits.softBytes)) : '';
  const files = d.limits.hardInodes ? humanCount(BigInt(d.limits.hardInodes)) : '';
  const en: Record<string, string> = {
    hard_bytes_reached: `it reached its hard limit of ${hard}`,
    hard_inodes_reached: `it reached its limit of ${files} files`,
    grace_expired: `it stayed over its soft limit${soft ? ` of ${soft}` : ''} past the grace period`,
    manual_freeze: 'an admin froze it',
    manual_unfreeze: 'an admin lifted the freeze',
    manual_freeze_expired: 'the admin freeze expired',
    below_release_line: 'usage is back under the limit',
    within_limits: 'usage is within its limits',
    soft_bytes_exceeded: 'it is over its soft limit',
    soft_inodes_exceeded: 'it is over its soft limit on files',
    quota_changed: 'its quota changed',
  };
  const zh: Record<string, string> = {
    hard_bytes_reached: `已达到硬限额 ${hard}`,
    hard_inodes_reached: `文件数已达到上限 ${files}`,
    grace_expired: `超过软限额${soft ? ` ${soft}` : ''}且宽限期已过`,
    manual_freeze: '管理员冻结了该存储卷',
    manual_unfreeze: '管理员解除了冻结',
    manual_freeze_expired: '管理员设置的冻结已到期',
    below_release_line: '用量已回到限额以下',
    within_limits: '用量在限额之内',
    soft_bytes_exceeded: '已超过软限额',
    soft_inodes_exceeded: '文件数已超过软限额',
    quota_changed: '配额已调整',
  };
  return (lang === 'zh' ? zh : en)[d.reason] ?? d.reason;
}

/** "hard limit 1.2 TB, soft limit 1 TB, 2 M files" in the reader's language. */
export function limitsText(l: Record<string, string | null> | null | undefined, lang: Language): string {
  if (!l) return '';
  const names: Record<string, [string, string]> = {
    hardBytes: ['hard limit', '硬限额'],
    softBytes: ['soft limit', '软限额'],
    hardInodes: ['file limit', '文件数上限'],
    softInodes: ['soft file limit', '文件数软限额'],
  };
  const parts = Object.entries(l)
    .filter(([k]) => names[k])
    .map(([k, v]) => {
      const value = v === null ? (lang === 'zh' ? '不限' : 'unlimited') : k.endsWith('Bytes') ? humanBytes(BigInt(v)) : humanCount(BigInt(v));
      return `${names[k]![lang === 'zh' ? 1 : 0]} ${value}`;
    });
  return parts.join(lang === 'zh' ? '，' : ', ');
}

/** The template variables of a notice, in `lang`, as of `now`. */
export function noticeVars(d: NoticeData, lang: Language, now: Date): TemplateVars {
  const usedBytes = big(d.usage?.bytes) ?? 0n;
  const usedInodes = big(d.usage?.inodes) ?? 0n;
  const byteLimit = big(d.limits.hardBytes) ?? big(d.limits.softBytes);
  const inodeLimit = big(d.limits.hardInodes) ?? big(d.limits.softInodes);
  const aboutFiles = d.reason.includes('inodes');
  const percent = aboutFiles ? percentOf(usedInodes, inodeLimit) : percentOf(usedBytes, byteLimit);
  const used = humanBytes(usedBytes);
  const limit = byteLimit === null ? '' : humanBytes(byteLimit);
  const usedFiles = humanCount(usedInodes);
  const fileLimit = inodeLimit === null ? '' : humanCount(inodeLimit);

  let usageLine: string;
  if (aboutFiles && fileLimit) {
    usageLine = lang === 'zh' ? `文件数已达上限的 ${percent}%（${usedFiles} / ${fileLimit}）` : `at ${percent}% of its file limit (${usedFiles} of ${fileLimit} files)`;
  } else if (limit) {
    usageLine = lang === 'zh' ? `已用 ${percent}%（${used} / ${limit}）` : `${percent}% full (${used} of ${limit})`;
  } else {
    usageLine = lang === 'zh' ? `已用 ${used}` : `using ${used}`;
  }

  const folders = d.topDirectories.map((f) => {
    const inodes = BigInt(f.inodes);
    const showFiles = aboutFiles || inodes >= 100_000n;
    const files = lang === 'zh' ? `${humanCount(inodes)} 个文件` : `${humanCount(inodes)} files`;
    return `${f.path} (${humanBytes(BigInt(f.bytes))}${showFiles ? `, ${files}` : ''})`;
  });

  const free: string[] = [];
  if (d.toRelease && BigInt(d.toRelease.bytes) > 0n) free.push(humanBytes(BigInt(d.toRelease.bytes)));
  if (d.toRelease && BigInt(d.toRelease.inodes) > 0n) free.push(lang === 'zh' ? `${humanCount(BigInt(d.toRelease.inodes))} 个文件` : `${humanCount(BigInt(d.toRelease.inodes))} files`);

  const until = (iso: string | null) => (iso ? Math.round((new Date(iso).getTime() - now.getTime()) / 1000) : 0);
  return {
    volumeName: d.volume.name,
    tenantName: d.tenant.name,
    usageLine,
    percent,
    used,
    limit,
    usedFiles,
    fileLimit,
    softLimit: d.limits.softBytes ? humanBytes(BigInt(d.limits.softBytes)) : limit,
    graceDeadline: d.graceDeadline ? humanTime(d.graceDeadline) : '',
    graceLeft: d.graceDeadline ? humanDuration(until(d.graceDeadline), lang) : '',
    fullIn: d.forecast ? humanDuration(until(d.forecast.fullAt), lang) : '',
    topFolders: joinList(folders, lang),
    toFree: free.length ? joinList(free, lang) : lang === 'zh' ? '一些空间' : 'some space',
    requestUrl: d.links.request,
    enforcementUrl: d.links.enforcement,
    reasonText: reasonText(d, lang),
    detail: d.detail ?? '',
    manualUntil: d.manualUntil ? humanTime(d.manualUntil) : '',
    requestId: d.request?.id ?? '',
    requestedBy: d.request?.requestedBy ?? '',
    requestReason: d.request?.reason ?? '',
    requested: limitsText(d.request?.requested, lang),
    granted: limitsText(d.request?.granted, lang),
    grantUntil: d.request?.until ? humanTime(d.request.until) : '',
    comment: d.request?.comment ?? '',
    requestExplanation: d.request?.explanation ? `${d.request.explanation.replace(/\.?$/, '.')}` : '',
    requestLink: d.request?.link ?? '',
  };
}
