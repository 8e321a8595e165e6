/**
 * Admin pages: the request queue, jobs and the audit log (the fleet is in fleet.tsx).
 */
import { useState } from 'react';
import { api, ApiError, query, type AuditEvent, type JobList, type Page, type QuotaRequestRecord } from '../api/client';
import { useCaller } from '../caller';
import { Status, VolumeLink } from '../components/common';
import { Limits, RequestDirectory } from '../components/request-row';
import { UNIT_BYTES } from '../format';
import { useI18n } from '../i18n/i18n';
import { useGet } from '../use-api';
import { slug } from './fleet';

/** `/admin/queue`: pending requests, each with approve (other numbers allowed), deny and cancel. */
export function Queue() {
  const { t } = useI18n();
  const list = useGet<Page<QuotaRequestRecord>>('/v1/quota-requests?state=pending&limit=100');
  const [notice, setNotice] = useState<string | undefined>();
  return (
    <section>
      <h1>{t('queue')}</h1>
      {notice && (
        <p className="note" role="status">
          {notice}
        </p>
      )}
      <Status loading={list.loading && !list.data} error={list.error}>
        {list.data?.items.length === 0 ? (
          <p>{t('none')}</p>
        ) : (
          <ul className="cards">
            {list.data?.items.map((r) => (
              <QueueItem
                key={r.id}
                r={r}
                onDone={(msg) => {
                  setNotice(msg);
                  list.reload();
                }}
              />
            ))}
          </ul>
        )}
      </Status>
    </section>
  );
}

/** One pending request with its actions. */
function QueueItem({ r, onDone }: { r: QuotaRequestRecord; onDone: (message: string) => void }) {
  const { t, dateTime } = useI18n();
  const caller = useCaller();
  const gb = (n: number | null | undefined) => (n == null ? '' : String(n / UNIT_BYTES.GB));
  const [hard, setHard] = useState(gb(r.requested.hardBytes));
  const [comment, setComment] = useState('');
  const [denyReason, setDenyReason] = useState('');
  const [error, setError] = useState<string | undefined>();
  const act = async (verb: 'approve' | 'deny' | 'cancel', body?: object) => {
    setError(undefined);
    try {
      await api(caller.token, 'POST', `/v1/quota-requests/${r.id}/${verb}`, body);
      onDone(t('done'));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) onDone(t('conflict'));
      else setError(err instanceof Error ? err.message : String(err));
    }
  };
  const approveBody = () => ({ ...(hard.trim() !== '' && { hardBytes: Math.round(Number(hard) * UNIT_BYTES.GB) }), ...(comment.trim() && { comment: comment.trim() }) });
  return (
    <li className="card" data-request={r.id}>
      <h2>
        <VolumeLink id={r.volumeId} /> · <RequestDirectory r={r} />
      </h2>
      <p>
        {r.requestedBy} · {dateTime(r.createdAt)} · {t('requested')}: <Limits l={r.requested} />
        {r.until ? ` · ${dateTime(r.until)}` : ''}
      </p>
      <blockquote>{r.reason}</blockquote>
      <p className="muted">{r.explanation}</p>
      <div className="actions">
        <label>
          {t('newHardBytes')} (GB)
          <input name="approveHardGb" type="number" min="0" step="any" value={hard} onChange={(e) => setHard(e.target.value)} />
        </label>
        <label>
          {t('comment')}
          <input name="comment" value={comment} onChange={(e) => setComment(e.target.value)} />
        </label>
        <button type="button" onClick={() => act('approve', approveBody())}>
          {t('approveWith')}
        </button>
      </div>
      <div className="actions">
        <label>
          {t('denyReason')}
          <input name="denyReason" value={denyReason} minLength={3} onChange={(e) => setDenyReason(e.target.value)} />
        </label>
        <button type="button" disabled={denyReason.trim().length < 3} onClick={() => act('deny', { reason: denyReason.trim() })}>
          {t('deny')}
        </button>
        <button type="button" onClick={() => act('cancel')}>
          {t('cancel')}
        </button>
      </div>
      {error && (
        <p className="error" role="alert">
          {t('error', { message: error })}
        </p>
      )}
    </li>
  );
}

/** `/admin/jobs`: each job with its schedule and last run. */
export function Jobs() {
  const { t, dateTime } = useI18n();
  const list = useGet<JobList>('/v1/jobs?runs=1');
  return (
    <section>
      <h1>{t('jobs')}</h1>
      <Status loading={list.loading} error={list.error}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('job')}</th>
              <th scope="col">{t('schedule')}</th>
              <th scope="col">{t('lastRun')}</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((j) => {
              const run = j.lastRuns[0];
              return (
                <tr key={j.name}>
                  <td>{j.name}</td>
                  <td>{j.cron}</td>
                  <td>{run ? `${run.state} · ${dateTime(run.startedAt)}${run.error ? ` · ${run.error}` : ''}` : '–'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Status>
    </section>
  );
}

/** `/admin/audit`: newest first, filtered by tenant and action. */
export function Audit() {
  const { t, dateTime } = useI18n();
  const [tenant, setTenant] = useState('');
  const [action, setAction] = useState('');
  const list = useGet<Page<AuditEvent>>(`/v1/audit${query({ limit: 100, tenantId: slug(tenant), action })}`);
  return (
    <section>
      <h1>{t('audit')}</h1>
      <div className="filters">
        <label>
          {t('filterTenant')}
          <input value={tenant} onChange={(e) => setTenant(e.target.value.trim())} />
        </label>
        <label>
          {t('action')}
          <input value={action} onChange={(e) => setAction(e.target.value.trim())} />
        </label>
      </div>
      <Status loading={list.loading && !list.data} error={list.error}>
        <table>
          <thead>
            <tr>
              <th scope="col">{t('at')}</th>
              <th scope="col">{t('actor')}</th>
              <th scope="col">{t('action')}</th>
              <th scope="col">{t('entity')}</th>
            </tr>
          </thead>
          <tbody>
            {list.data?.items.map((a) => (
              <tr key={a.id}>
                <td>{dateTime(a.at)}</td>
                <td>{a.actor}</td>
                <td>{a.action}</td>
                <td>
                  {a.entityType} {a.entityId}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Status>
    </section>
  );
}
