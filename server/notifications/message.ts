/**
 * Turns a notice's data into the words its templates use: percentages, human sizes, "full in
 * 3 days", the largest folders, what to delete. Computed at delivery time, in the recipient's
 * language, so a template edit applies to notices already queued.
 */
import { describeFinding } from '../insights/insight-messages.js';
import { fromNoticeFinding } from './finding-source.js';
import { humanBytes, humanCount, humanDuration, humanTime } from './humanize.js';
import type { DigestData, Language, NoticeData } from './notice.js';
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
  const { aboutFiles, ...usage } = usageVars(d, lang);
  const until = (iso: string | null) => (iso ? Math.round((new Date(iso).getTime() - now.getTime()) / 1000) : 0);
  return {
    volumeName: d.volume.name,
    tenantName: d.tenant.name,
    ...usage,
    softLimit: d.limits.softBytes ? humanBytes(BigInt(d.limits.softBytes)) : usage.limit,
    graceDeadline: d.graceDeadline ? humanTime(d.graceDeadline) : '',
    graceLeft: d.graceDeadline ? humanDuration(until(d.graceDeadline), lang) : '',
    fullIn: d.forecast ? humanDuration(until(d.forecast.fullAt), lang) : '',
    topFolders: foldersText(d, aboutFiles, lang),
    toFree: toFreeText(d, lang),
    requestUrl: d.links.request,
    enforcementUrl: d.links.enforcement,
    reasonText: reasonText(d, lang),
    detail: d.detail ?? '',
    manualUntil: d.manualUntil ? humanTime(d.manualUntil) : '',
    ...requestVars(d, lang),
    ...warningVars(d, lang),
  };
}

/** Used and limit, in bytes or in files (whichever the notice is about), and the line saying so. */
function usageVars(d: NoticeData, lang: Language) {
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
  return { aboutFiles, usageLine, percent, used, limit, usedFiles, fileLimit };
}

/** The largest folders, with their file counts when files matter. */
function foldersText(d: NoticeData, aboutFiles: boolean, lang: Language): string {
  const folders = d.topDirectories.map((f) => {
    const inodes = BigInt(f.inodes);
    const showFiles = aboutFiles || inodes >= 100_000n;
    const files = lang === 'zh' ? `${humanCount(inodes)} 个文件` : `${humanCount(inodes)} files`;
    return `${f.path} (${humanBytes(BigInt(f.bytes))}${showFiles ? `, ${files}` : ''})`;
  });
  return joinList(folders, lang);
}

/** How much to delete to be released, in bytes and files. */
function toFreeText(d: NoticeData, lang: Language): string {
  const free: string[] = [];
  if (d.toRelease && BigInt(d.toRelease.bytes) > 0n) free.push(humanBytes(BigInt(d.toRelease.bytes)));
  if (d.toRelease && BigInt(d.toRelease.inodes) > 0n) free.push(lang === 'zh' ? `${humanCount(BigInt(d.toRelease.inodes))} 个文件` : `${humanCount(BigInt(d.toRelease.inodes))} files`);
  return free.length ? joinList(free, lang) : lang === 'zh' ? '一些空间' : 'some space';
}

/** The words of a quota request's notices (empty when the notice is about none). */
function requestVars(d: NoticeData, lang: Language) {
  return {
    requestId: d.request?.id ?? '',
    requestedBy: d.request?.requestedBy ?? '',
    requestReason: d.request?.reason ?? '',
    requested: limitsText(d.request?.requested, lang),
    granted: limitsText(d.request?.granted, lang),
    grantUntil: d.request?.until ? humanTime(d.request.until) : '',
    comment: d.request?.comment ?? '',
    requestExplanation: d.request?.explanation ? explanationText(d.request.explanation, lang) : '',
    requestLink: d.request?.link ?? '',
  };
}

/** The words of early warnings and digests: the limit warned about, the findings, the digest lines. */
function warningVars(d: NoticeData, lang: Language) {
  const zh = lang === 'zh';
  const findings = (d.findings ?? []).map((f) => {
    const words = describeFinding(fromNoticeFinding(f), lang);
    const where = f.paths.slice(0, 3).join(zh ? '、' : ', ');
    return `${words.title}${where ? (zh ? `（${where}）` : ` (${where})`) : ''}: ${words.suggestion}`;
  });
  const reclaimable = (d.findings ?? []).reduce((a, f) => a + BigInt(f.reclaimableBytes), 0n);
  const perDay = d.forecast ? BigInt(d.forecast.bytesPerDay) : 0n;
  return {
    warnLimitName: d.warning ? (d.warning.level === 'hard' ? (zh ? '硬限额' : 'hard limit') : zh ? '软限额' : 'soft limit') : '',
    warnLimit: d.warning ? humanBytes(BigInt(d.warning.limitBytes)) : '',
    fullAt: d.forecast ? humanTime(d.forecast.fullAt) : '',
    growthPerDay: perDay > 0n ? humanBytes(perDay) : '',
    findingsText: findings.map((f) => `- ${f}`).join('\n'),
    reclaimable: reclaimable > 0n ? humanBytes(reclaimable) : '',
    digestWeek: d.digest?.week ?? '',
    digestText: d.digest ? digestLines(d.digest, lang).join('\n') : '',
    pendingRequests: d.digest && d.digest.pendingRequests > 0 ? String(d.digest.pendingRequests) : '',
  };
}

// The auto-approval rules explain themselves in English (server/requests/auto-approval.ts);
// Chinese notices get them phrase by phrase. Unknown phrases stay as they are.
const zhReasons: [RegExp, string][] = [
  [/^approved by rule (\S+): at most \+(\d+(?:\.\d+)?)% once every (\d+(?:\.\d+)?) days$/, '已由规则 $1 自动批准：每 $3 天最多一次，最多增加 $2%'],
  [/^approved by rule (\S+): temporary grant up to (\d+(?:\.\d+)?)x for at most (\d+(?:\.\d+)?) days$/, '已由规则 $1 自动批准：临时扩容最多 $2 倍，最长 $3 天'],
  [/^approved by (.+)$/, '由 $1 批准'],
  [/^no auto-approval rule for this tier; an admin must review it$/, '该等级没有自动批准规则，需管理员审批'],
  [/^rule (\S+) covers permanent increases only$/, '规则 $1 仅适用于永久扩容'],
  [/^rule (\S+) covers temporary grants only$/, '规则 $1 仅适用于临时扩容'],
  [/^rule (\S+) allows one automatic increase every (\S+) days$/, '规则 $1 每 $2 天只允许一次自动扩容'],
  [/^rule (\S+) allows temporary grants of at most (\S+) days$/, '规则 $1 的临时扩容最长 $2 天'],
  [/^rule (\S+) allows at most \+(\S+)%: (.+)$/, '规则 $1 最多允许增加 $2%：$3'],
  [/^rule (\S+) allows at most (\S+)x for a temporary grant: (.+)$/, '规则 $1 的临时扩容最多 $2 倍：$3'],
];

/** A request's explanation, ending in a full stop, in `lang`. */
export function explanationText(e: string, lang: Language): string {
  if (lang !== 'zh') return e.replace(/\.?$/, '.');
  const phrase = (p: string) => zhReasons.reduce((out, [re, zh]) => (re.test(out) ? out.replace(re, zh) : out), p.trim());
  const none = /^no rule applies \((.*)\); an admin must review it$/.exec(e);
  if (none) return `没有适用的自动批准规则（${none[1]!.split('; ').map(phrase).join('；')}），需管理员审批。`;
  const review = /^(.*); an admin must review it$/.exec(e);
  if (review && !zhReasons.some(([re]) => re.test(e))) return `${review[1]}，需管理员审批。`;
  return `${phrase(e).replace(/[.。]?$/, '')}。`;
}

/** One line per volume: usage of limit, growth over the week, forecast, reclaimable. */
export function digestLines(g: DigestData, lang: Language): string[] {
  const zh = lang === 'zh';
  return g.volumes.map((v) => {
    const used = v.bytes === null ? (zh ? '未知' : 'unknown') : humanBytes(BigInt(v.bytes));
    const limit = v.hardBytes ?? v.softBytes;
    const parts = [limit && v.bytes !== null ? `${used} / ${humanBytes(BigInt(limit))} (${(BigInt(v.bytes) * 100n) / (BigInt(limit) || 1n)}%)` : used];
    if (v.growthBytes !== null) {
      const g7 = BigInt(v.growthBytes);
      parts.push(zh ? `7 天${g7 >= 0n ? '增长' : '减少'} ${humanBytes(g7 < 0n ? -g7 : g7)}` : `${g7 >= 0n ? '+' : '-'}${humanBytes(g7 < 0n ? -g7 : g7)} in 7 days`);
    }
    if (v.fullAt) parts.push(zh ? `预计 ${humanTime(v.fullAt)} 写满` : `full by ${humanTime(v.fullAt)}`);
    if (BigInt(v.reclaimableBytes) > 0n) parts.push(zh ? `可释放 ${humanBytes(BigInt(v.reclaimableBytes))}` : `${humanBytes(BigInt(v.reclaimableBytes))} reclaimable`);
    if (v.state !== 'ok') parts.push(zh ? `状态 ${v.state}` : `state ${v.state}`);
    return `- ${v.name}: ${parts.join(zh ? '，' : ', ')}`;
  });
}
