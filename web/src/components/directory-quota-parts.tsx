/**
 * Pieces the directory-quota pages share: the API types (aliases of the generated schema), the
 * page path, the two usage bars, the flags a quota carries (unmanaged, not native, frozen by an
 * admin, not applied yet) and the sentence saying why it is in its state.
 */
import type { components } from '../api/schema';
import { useI18n } from '../i18n/i18n';
import type { MessageKey } from '../i18n/messages';
import { formatBytes, formatCount } from '../format';
import { UsageBar } from './usage-bar';

type S = components['schemas'];
export type DirectoryQuota = S['DirectoryQuota'];
export type DirectoryQuotaList = S['DirectoryQuotaList'];
export type DirectoryQuotaCheck = S['DirectoryQuotaCheck'];
export type CreateDirectoryQuotaRequest = S['CreateDirectoryQuotaRequest'];
export type QuotaRequestPreview = S['QuotaRequestPreview'];

/** The app path of a quota's page. */
export function directoryQuotaPath(volumeId: string, quotaId: string): string {
  return `/volumes/${volumeId}/directory-quotas/${quotaId}`;
}

/** The API path of a quota (and of its actions, with a suffix). */
export function directoryQuotaApi(volumeId: string, quotaId: string, suffix = ''): string {
  return `/v1/volumes/${volumeId}/directory-quotas/${quotaId}${suffix}`;
}

/** Space and inode bars against the quota's limits, or a line saying usage is not known. */
export function DirectoryQuotaUsage({ q }: { q: DirectoryQuota }) {
  const { t } = useI18n();
  if (!q.usage) return <p className="muted">{t('dqUsageUnknown')}</p>;
  return (
    <>
      <UsageBar label={t('bytes')} used={q.usage.usedBytes} soft={q.quota.softBytes} hard={q.quota.hardBytes} kind="bytes" />
      <UsageBar label={t('inodes')} used={q.usage.usedInodes} soft={q.quota.softInodes} hard={q.quota.hardInodes} kind="count" />
      {q.usage.source === 'walk' && <p className="muted">{t('dqUsageFromWalk')}</p>}
    </>
  );
}

/** Whether the JuiceFS record holds what Headroom last decided. */
export function applied(q: DirectoryQuota): boolean {
  return q.juicefs.appliedGeneration >= q.juicefs.generation && !q.juicefs.lastError;
}

/** Word badges for what sets a quota apart (never colour alone). */
export function DirectoryQuotaFlags({ q }: { q: DirectoryQuota }) {
  const { t } = useI18n();
  const flags: MessageKey[] = [];
  if (!q.managed) flags.push('dqUnmanaged');
  if (!q.native) flags.push('dqNotNative');
  if (q.enforcement.manualFreeze) flags.push('dqAdminFrozen');
  if (q.state !== 'active') flags.push(q.state === 'deleting' ? 'dqDeleting' : 'dqDeleted');
  if (q.managed && q.native && !applied(q)) flags.push('notInSync');
  return (
    <span className="flags">
      {flags.map((f) => (
        <span key={f} className={`flag flag-${f}`}>
          {t(f)}
        </span>
      ))}
    </span>
  );
}

/** Why the quota is in its state and what releases it, from the enforcement fields. */
export function directoryQuotaWhy(q: DirectoryQuota, t: (k: MessageKey, v?: Record<string, string | number>) => string, dateTime: (iso: string | null | undefined) => string): string {
  const e = q.enforcement;
  const reasonKey = `reason_${e.reason ?? ''}` as MessageKey;
  const reason = e.reason ? (t(reasonKey).startsWith('reason_') ? e.reason : t(reasonKey)) : '–';
  if (e.unknownReason) return t('dqWhyUnknown', { reason: e.unknownReason });
  if (e.state === 'frozen' && e.manualFreeze) return t('dqWhyFrozenAdmin', { reason: e.manualFreeze.reason, until: e.manualFreeze.until ? dateTime(e.manualFreeze.until) : t('dqUntilLifted') });
  if (e.state === 'frozen') return t('dqWhyFrozen', { reason, since: dateTime(e.since) });
  if (e.state === 'over_soft') return t('dqWhyOverSoft', { deadline: dateTime(e.graceDeadline) });
  return t('dqWhyOk');
}

/** What the JuiceFS record holds next to what Headroom wants, in one line. */
export function RecordLine({ q }: { q: DirectoryQuota }) {
  const { t } = useI18n();
  const j = q.juicefs;
  const lim = (n: number | null, f: (n: number) => string) => (n === null ? '–' : n <= 0 ? t('unlimited') : f(n));
  const present = j.recordPresent === null ? t('dqRecordNotRead') : j.recordPresent ? t('dqRecordPresent') : t('dqRecordMissing');
  return (
    <p data-testid="dq-record">
      {t('dqRecord', { present, bytes: lim(j.maxBytes, formatBytes), inodes: lim(j.maxInodes, formatCount) })} · {applied(q) ? t('inSync') : t('notInSync')} (
      {t('dqGeneration', { applied: j.appliedGeneration, wanted: j.generation })}){j.lastError && <span className="error"> {t('error', { message: j.lastError })}</span>}
    </p>
  );
}
