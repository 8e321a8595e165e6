/**
 * One directory quota: its limits and usage, its usage history and forecasts, its state and why
 * (from the enforcement fields: an admin's freeze, the policy's reason, the grace deadline, the
 * JuiceFS record next to what Headroom wants), the form to ask for more room, and for admins the
 * form to change it and the actions on it.
 */
import { useState } from 'react';
import type { Page, QuotaRequestRecord, Usage } from '../api/client';
import type { components } from '../api/schema';
import { useCaller } from '../caller';
import { Status, StateBadge, VolumeLink } from '../components/common';
import { directoryQuotaApi, directoryQuotaWhy, DirectoryQuotaFlags, DirectoryQuotaUsage, RecordLine, type DirectoryQuota } from '../components/directory-quota-parts';
import { UsageChart } from '../components/usage-chart';
import { formatBytes, formatCount } from '../format';
import { useI18n } from '../i18n/i18n';
import { Link } from '../router';
import { useGet } from '../use-api';
import { DirectoryQuotaActions } from './directory-quota-actions';
import { EditDirectoryQuota } from './directory-quota-edit';
import { DirectoryQuotaRequestForm } from './directory-quota-request';

/** The page for `/volumes/{volumeId}/directory-quotas/{quotaId}`. */
export function DirectoryQuotaPage({ volumeId, quotaId }: { volumeId: string; quotaId: string }) {
  const { t } = useI18n();
  const caller = useCaller();
  const dq = useGet<DirectoryQuota>(directoryQuotaApi(volumeId, quotaId));
  const q = dq.data;
  const [gone, setGone] = useState<DirectoryQuota | undefined>();
  const [saved, setSaved] = useState<string | undefined>();
  if (gone)
    return (
      <section className="dir-quota">
        <p className="note" role="status">
          {t('dqDeletedNow', { path: gone.path })} <Link to={`/volumes/${volumeId}`}>{t('dqBackToVolume')}</Link>
        </p>
      </section>
    );
  return (
    <section className="dir-quota">
      <p>
        <VolumeLink id={volumeId} />
      </p>
      <Status loading={dq.loading && !q} error={dq.error}>
        {q && (
          <>
            <h1>
              {t('dqTitle', { path: q.path })} <DirectoryQuotaFlags q={q} />
            </h1>
            <p>
              {t('dqOwner')}: {q.ownerSub ?? t('dqNoOwner')}
            </p>
            <h2>{t('usedCol')}</h2>
            <DirectoryQuotaUsage q={q} />
            <h2>{t('dqLimits')}</h2>
            <LimitsTable q={q} />
            {saved && (
              <p className="note" role="status">
                {saved}
              </p>
            )}
            {/* Admins and the platform change it; a quota set outside Headroom is taken over first. */}
            {caller.role !== 'engineer' && q.managed && q.state === 'active' && (
              <EditDirectoryQuota
                key={q.updatedAt}
                q={q}
                onSaved={(after) => {
                  setSaved(t('dqSaved', { path: after.path }));
                  dq.reload();
                }}
              />
            )}
            <h2>{t('history')}</h2>
            <HistoryPart key={q.updatedAt} q={q} />
            <h2>{t('why')}</h2>
            <WhyDirectory q={q} />
            {caller.role !== 'engineer' && <DirectoryQuotaActions q={q} onChanged={dq.reload} onDeleted={setGone} />}
            {/* The owner asks; an admin may ask on their behalf (the platform role may not). */}
            {caller.role === 'engineer' || caller.role === 'admin' ? <RequestPart q={q} onFiled={dq.reload} /> : null}
          </>
        )}
      </Status>
    </section>
  );
}

/** Soft and hard limits of space and inodes, and the grace period. */
function LimitsTable({ q }: { q: DirectoryQuota }) {
  const { t } = useI18n();
  const b = (n: number | null) => (n === null ? t('unlimited') : formatBytes(n));
  const c = (n: number | null) => (n === null ? t('unlimited') : formatCount(n));
  return (
    <table className="dq-limits">
      <thead>
        <tr>
          <td />
          <th scope="col">{t('soft')}</th>
          <th scope="col">{t('hard')}</th>
        </tr>
      </thead>
      <tbody>
        <tr>
          <th scope="row">{t('bytes')}</th>
          <td>{b(q.quota.softBytes)}</td>
          <td>{b(q.quota.hardBytes)}</td>
        </tr>
        <tr>
          <th scope="row">{t('inodes')}</th>
          <td>{c(q.quota.softInodes)}</td>
          <td>{c(q.quota.hardInodes)}</td>
        </tr>
        <tr>
          <th scope="row">{t('dqGrace')}</th>
          <td colSpan={2}>{t('dqGraceValue', { days: Math.round((q.quota.graceSeconds / 86_400) * 10) / 10 })}</td>
        </tr>
      </tbody>
    </table>
  );
}

/** The state, the sentence saying why, and what JuiceFS holds. */
function WhyDirectory({ q }: { q: DirectoryQuota }) {
  const { t, dateTime } = useI18n();
  const e = q.enforcement;
  return (
    <div className="why" data-state={e.unknownReason ? 'unknown' : e.state}>
      <p>
        <StateBadge state={e.unknownReason ? 'unknown' : e.state} /> <span className="why-sentence">{directoryQuotaWhy(q, t, dateTime)}</span>
      </p>
      <p className="muted">{t('dqSince', { at: dateTime(e.since) })}</p>
      {!q.managed && <p className="note">{t('dqUnmanagedNote')}</p>}
      {!q.native && <p className="note">{t('dqNotNativeNote')}</p>}
      {q.native && <RecordLine q={q} />}
    </div>
  );
}

/** The pending request (if any) or the form; unmanaged and deleted quotas take none. */
function RequestPart({ q, onFiled }: { q: DirectoryQuota; onFiled: () => void }) {
  const { t, dateTime } = useI18n();
  const pending = useGet<Page<QuotaRequestRecord>>(`/v1/quota-requests?state=pending&volumeId=${q.volumeId}&limit=500`);
  const mine = pending.data?.items.find((r) => r.directoryQuotaId === q.id);
  if (!q.managed || q.state !== 'active') return null;
  return (
    <>
      <h2>{t('requestMore')}</h2>
      <Status loading={pending.loading && !pending.data} error={pending.error}>
        {mine ? (
          <p className="note">
            {t('pendingRequest', { at: dateTime(mine.createdAt) })} <Link to="/requests">{t('myRequests')}</Link>
          </p>
        ) : (
          <DirectoryQuotaRequestForm q={q} onFiled={onFiled} />
        )}
      </Status>
    </>
  );
}

type History = components['schemas']['DirectoryQuotaHistory'];
type Forecast = components['schemas']['DirectoryQuotaForecast'];

/**
 * What the usage chart reads of a volume's usage, from the quota and its forecast: the newest
 * point of the trend, the limits, and the hard byte limit's forecast as its dashed line.
 */
function chartUsage(q: DirectoryQuota, f: Forecast | undefined): Usage | undefined {
  if (!f?.usage) return undefined;
  const hard = q.quota.hardBytes;
  return {
    usedBytes: f.usage.usedBytes,
    usedInodes: f.usage.usedInodes,
    source: 'counters',
    readAt: f.usage.readAt,
    state: q.enforcement.state,
    percentOfHardBytes: hard ? (f.usage.usedBytes / hard) * 100 : null,
    limits: q.quota,
    forecast: f.bytes.hard,
    pendingRequest: null,
    whatYouCanDo: [],
  };
}

/** The usage chart (samples the counters pass keeps) and when each limit is reached at the recent rate. */
function HistoryPart({ q }: { q: DirectoryQuota }) {
  const history = useGet<History>(directoryQuotaApi(q.volumeId, q.id, '/history'));
  const forecast = useGet<Forecast>(directoryQuotaApi(q.volumeId, q.id, '/forecast'));
  return (
    <Status loading={(history.loading && !history.data) || (forecast.loading && !forecast.data)} error={history.error ?? forecast.error}>
      {history.data && <UsageChart history={history.data} usage={chartUsage(q, forecast.data)} />}
      {forecast.data && <ForecastLines f={forecast.data} />}
    </Status>
  );
}

/** One sentence per limit the trend reaches, or one saying none is in sight. */
function ForecastLines({ f }: { f: Forecast }) {
  const { t, dateTime } = useI18n();
  const lines = [
    f.bytes.soft && t('dqForecastSoft', { measure: t('bytes'), at: dateTime(f.bytes.soft.fullAt), rate: formatBytes(f.bytes.soft.bytesPerDay) }),
    f.bytes.hard && t('dqForecastHard', { measure: t('bytes'), at: dateTime(f.bytes.hard.fullAt), rate: formatBytes(f.bytes.hard.bytesPerDay) }),
    f.inodes.soft && t('dqForecastSoft', { measure: t('inodes'), at: dateTime(f.inodes.soft.fullAt), rate: formatCount(f.inodes.soft.inodesPerDay) }),
    f.inodes.hard && t('dqForecastHard', { measure: t('inodes'), at: dateTime(f.inodes.hard.fullAt), rate: formatCount(f.inodes.hard.inodesPerDay) }),
  ].filter((l): l is string => !!l);
  return (
    <div className="dq-forecast" data-testid="dq-forecast">
      {lines.length === 0 ? (
        <p className="muted">{t('dqForecastNone', { days: f.windowDays })}</p>
      ) : (
        <ul>
          {lines.map((l) => (
            <li key={l}>{l}</li>
          ))}
        </ul>
      )}
    </div>
  );
}
