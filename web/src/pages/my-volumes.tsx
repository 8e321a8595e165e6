/** Engineer home: one card per volume with its usage, state, growth and time to full. */
import type { Enforcement, Page, Usage, Volume } from '../api/client';
import { Status, StateBadge } from '../components/common';
import { UsageBar } from '../components/usage-bar';
import { formatBytes } from '../format';
import { useI18n } from '../i18n/i18n';
import { Link } from '../router';
import { useGet } from '../use-api';

/** The list of the caller's volumes. */
export function MyVolumes() {
  const { t } = useI18n();
  const list = useGet<Page<Volume>>('/v1/volumes?limit=500');
  const live = list.data?.items.filter((v) => v.state === 'active') ?? [];
  return (
    <section>
      <h1>{t('myVolumes')}</h1>
      <Status loading={list.loading} error={list.error}>
        {live.length === 0 ? (
          <p>{t('none')}</p>
        ) : (
          <ul className="cards">
            {live.map((v) => (
              <VolumeCard key={v.id} volume={v} />
            ))}
          </ul>
        )}
      </Status>
    </section>
  );
}

/** One volume's card; its usage comes from its own call so one slow volume delays only itself. */
export function VolumeCard({ volume }: { volume: Volume }) {
  const { t } = useI18n();
  const usage = useGet<Usage>(`/v1/volumes/${volume.id}/usage`);
  return (
    <li className="card" data-volume={volume.name}>
      <h2>
        <Link to={`/volumes/${volume.id}`}>{volume.name}</Link> <span className="muted">{volume.tenantId}</span>
      </h2>
      {usage.error ? (
        <>
          <StateBadge state="unknown" />
          <p className="muted">{t('usageUnavailable', { message: usage.error.message })}</p>
        </>
      ) : usage.data ? (
        <UsageSummary volumeId={volume.id} usage={usage.data} />
      ) : (
        <p className="muted">{t('loading')}</p>
      )}
    </li>
  );
}

/** State, bars, growth and forecast of one reading. */
export function UsageSummary({ volumeId, usage }: { volumeId: string; usage: Usage }) {
  const { t, dateTime } = useI18n();
  const l = usage.limits;
  const fc = usage.forecast;
  return (
    <div className="summary">
      <p>
        <StateBadge state={usage.state} />
        {usage.state === 'over_soft' && <GraceLine volumeId={volumeId} />}
      </p>
      <UsageBar label={t('bytes')} used={usage.usedBytes} soft={l.softBytes} hard={l.hardBytes} kind="bytes" />
      <UsageBar label={t('inodes')} used={usage.usedInodes} soft={l.softInodes} hard={l.hardInodes} kind="count" />
      {fc ? (
        <p>
          {t('growth', { rate: formatBytes(fc.bytesPerDay) })} · {t('fullIn', { days: Math.max(0, Math.floor(fc.secondsToFull / 86400)), at: dateTime(fc.fullAt) })}
        </p>
      ) : (
        <p className="muted">{t('notGrowing')}</p>
      )}
    </div>
  );
}

/** The grace deadline of a volume over its soft limit (from its enforcement answer). */
function GraceLine({ volumeId }: { volumeId: string }) {
  const { t, dateTime } = useI18n();
  const e = useGet<Enforcement>(`/v1/volumes/${volumeId}/enforcement`);
  return e.data?.graceDeadline ? <span> {t('graceUntil', { at: dateTime(e.data.graceDeadline) })}</span> : null;
}
