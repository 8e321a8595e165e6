/** The caller's quota requests and the notices they received. */
import type { LimitSet, Notification, Page, QuotaRequestRecord } from '../api/client';
import { Status, VolumeLink } from '../components/common';
import { formatBytes, formatCount } from '../format';
import { useI18n } from '../i18n/i18n';
import type { MessageKey } from '../i18n/messages';
import { Link } from '../router';
import { useGet } from '../use-api';

/** Limits in a few words. */
export function Limits({ l }: { l: LimitSet | null | undefined }) {
  const { t } = useI18n();
  if (!l) return <>–</>;
  const parts = [
    l.hardBytes != null && `${t('hard')} ${formatBytes(l.hardBytes)}`,
    l.softBytes != null && `${t('soft')} ${formatBytes(l.softBytes)}`,
    l.hardInodes != null && `${t('inodes')} ${formatCount(l.hardInodes)}`,
    l.softInodes != null && `${t('inodes')} ${t('soft')} ${formatCount(l.softInodes)}`,
  ].filter(Boolean);
  return <>{parts.join(', ') || '–'}</>;
}

/** A request's state as words. */
export function RequestState({ state }: { state: string }) {
  const { t } = useI18n();
  return <span className={`rstate rstate-${state}`}>{t(`rstate_${state}` as MessageKey)}</span>;
}

/** `/requests`: what the caller asked for and what came of it. */
export function MyRequests() {
  const { t, dateTime } = useI18n();
  const list = useGet<Page<QuotaRequestRecord>>('/v1/quota-requests?limit=100');
  return (
    <section>
      <h1>{t('myRequests')}</h1>
      <Status loading={list.loading} error={list.error}>
        {list.data?.items.length === 0 ? (
          <p>{t('none')}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('created')}</th>
                <th scope="col">{t('volume')}</th>
                <th scope="col">{t('requested')}</th>
                <th scope="col">{t('state')}</th>
                <th scope="col">{t('granted')}</th>
                <th scope="col">{t('outcome')}</th>
              </tr>
            </thead>
            <tbody>
              {list.data?.items.map((r) => (
                <tr key={r.id} data-request={r.id}>
                  <td>{dateTime(r.createdAt)}</td>
                  <td>
                    <VolumeLink id={r.volumeId} />
                  </td>
                  <td>
                    <Limits l={r.requested} />
                  </td>
                  <td>
                    <RequestState state={r.state} />
                  </td>
                  <td className="granted">
                    <Limits l={r.granted} />
                  </td>
                  <td>{r.comment ? `${r.explanation} — ${r.comment}` : r.explanation}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Status>
    </section>
  );
}

/** `/notifications`: the notices of the caller's tenants (admins: all). */
export function Notifications() {
  const { t, dateTime } = useI18n();
  const list = useGet<Page<Notification>>('/v1/notifications?limit=100');
  return (
    <section>
      <h1>{t('notifications')}</h1>
      <Status loading={list.loading} error={list.error}>
        {list.data?.items.length === 0 ? (
          <p>{t('none')}</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th scope="col">{t('at')}</th>
                <th scope="col">{t('type')}</th>
                <th scope="col">{t('volume')}</th>
                <th scope="col">{t('details')}</th>
              </tr>
            </thead>
            <tbody>
              {list.data?.items.map((n) => (
                <tr key={n.id}>
                  <td>{dateTime(n.createdAt)}</td>
                  <td>{n.type}</td>
                  <td>
                    <Link to={`/volumes/${n.volumeId}`}>{n.volumeId}</Link>
                  </td>
                  <td>
                    {Object.entries(n.data)
                      .filter(([, v]) => typeof v === 'string' || typeof v === 'number')
                      .map(([k, v]) => `${k}: ${String(v)}`)
                      .join(' · ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Status>
    </section>
  );
}
