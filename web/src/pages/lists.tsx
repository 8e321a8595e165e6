/** The caller's quota requests and the notices they received. */
import type { Notification, Page, QuotaRequestRecord } from '../api/client';
import { Status } from '../components/common';
import { RequestHeadings, RequestRow } from '../components/request-row';
import { useI18n } from '../i18n/i18n';
import { Link } from '../router';
import { useGet } from '../use-api';

/** `/requests`: what the caller asked for and what came of it. */
export function MyRequests() {
  const { t } = useI18n();
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
              <RequestHeadings />
            </thead>
            <tbody>
              {list.data?.items.map((r) => (
                <RequestRow key={r.id} r={r} />
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
