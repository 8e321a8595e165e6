/**
 * One volume: why it is in its state and what happens next, its usage history, its largest
 * directories (drill down), the walk's findings, its directory quotas, and how to mount it.
 */
import type { Enforcement, MountInstructions, Usage, UsageHistory, Volume } from '../api/client';
import { Status } from '../components/common';
import { UsageChart } from '../components/usage-chart';
import { useI18n } from '../i18n/i18n';
import { Link } from '../router';
import { useGet } from '../use-api';
import { Directories } from './directories';
import { DirectoryQuotaSection } from './directory-quota-list';
import { Findings } from './findings';
import { UsageSummary } from './my-volumes';
import { Why } from './why';

/** The page for `/volumes/{id}`. */
export function VolumePage({ id }: { id: string }) {
  const { t, dateTime } = useI18n();
  const volume = useGet<Volume>(`/v1/volumes/${id}`);
  const ok = volume.data !== undefined;
  const usage = useGet<Usage>(ok ? `/v1/volumes/${id}/usage` : null);
  const enforcement = useGet<Enforcement>(ok ? `/v1/volumes/${id}/enforcement` : null);
  const history = useGet<UsageHistory>(ok ? `/v1/volumes/${id}/usage/history` : null);
  return (
    <section>
      <Status loading={volume.loading} error={volume.error}>
        <h1>
          {volume.data?.name} <span className="muted">{volume.data?.tenantId}</span>
        </h1>
        {usage.data && <UsageSummary volumeId={id} usage={usage.data} />}
        {enforcement.data?.pendingRequest ? (
          <p className="note">{t('pendingRequest', { at: dateTime(enforcement.data.pendingRequest.createdAt) })}</p>
        ) : (
          <p>
            <Link className="button" to={`/volumes/${id}/request`}>
              {t('requestMore')}
            </Link>
          </p>
        )}
        <h2>{t('why')}</h2>
        <Status loading={enforcement.loading} error={enforcement.error}>
          {enforcement.data && <Why e={enforcement.data} />}
        </Status>
        <h2>{t('history')}</h2>
        <Status loading={history.loading} error={history.error}>
          {history.data && <UsageChart history={history.data} usage={usage.data} />}
        </Status>
        <h2>{t('largestDirs')}</h2>
        {ok && <Directories volumeId={id} />}
        {ok && <Findings volumeId={id} />}
        {ok && <DirectoryQuotaSection volumeId={id} />}
        <h2>{t('mount')}</h2>
        {ok && <Mount volumeId={id} />}
      </Status>
    </section>
  );
}

/** The mount command and fstab line. */
function Mount({ volumeId }: { volumeId: string }) {
  const { t } = useI18n();
  const m = useGet<MountInstructions>(`/v1/volumes/${volumeId}/mount`);
  return (
    <Status loading={m.loading} error={m.error}>
      {m.data && (
        <>
          <h3>{t('mountCommand')}</h3>
          <pre tabIndex={0}>{m.data.command}</pre>
          <h3>{t('fstab')}</h3>
          <pre tabIndex={0}>{m.data.fstab}</pre>
          {m.data.notes.length > 0 && (
            <ul>
              {m.data.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          )}
        </>
      )}
    </Status>
  );
}
