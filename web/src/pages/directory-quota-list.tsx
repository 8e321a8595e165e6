/**
 * The "Directory quotas" section of a volume page: each quota with its owner, usage against its
 * limits, state and flags. The API filters the list (engineers get the quotas they own, admins
 * all). Admins and the platform also create quotas here and discover the ones set outside
 * Headroom; admins take those over.
 */
import { useState } from 'react';
import { api, ApiError, query } from '../api/client';
import { useCaller } from '../caller';
import { PathText, StateBadge, Status } from '../components/common';
import { ConfirmButton } from '../components/confirm-button';
import { directoryQuotaApi, directoryQuotaPath, DirectoryQuotaFlags, DirectoryQuotaUsage, type DirectoryQuota, type DirectoryQuotaList } from '../components/directory-quota-parts';
import { useI18n } from '../i18n/i18n';
import { Link } from '../router';
import { useGet } from '../use-api';
import { CreateDirectoryQuota } from './directory-quota-create';

const PAGE = 100;

/** The section, for `/volumes/{id}`. */
export function DirectoryQuotaSection({ volumeId }: { volumeId: string }) {
  const { t } = useI18n();
  const caller = useCaller();
  const manager = caller.role !== 'engineer';
  // Cursors of the pages before this one (the first page has none).
  const [cursors, setCursors] = useState<string[]>([]);
  const cursor = cursors[cursors.length - 1];
  const list = useGet<DirectoryQuotaList>(`/v1/volumes/${volumeId}/directory-quotas${query({ limit: PAGE, cursor })}`);
  const [notice, setNotice] = useState<string | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  const done = (message: string) => {
    setFailure(undefined);
    setNotice(message);
    list.reload();
  };
  const fail = (err: unknown) => {
    setNotice(undefined);
    setFailure(err instanceof ApiError || err instanceof Error ? err.message : String(err));
  };
  const discover = async () => {
    try {
      const found = await api<{ items: DirectoryQuota[] }>(caller.token, 'POST', `/v1/volumes/${volumeId}/directory-quotas/discover`);
      done(found.items.length === 0 ? t('dqDiscoveredNone') : t('dqDiscovered', { count: found.items.length, paths: found.items.map((q) => q.path).join(', ') }));
    } catch (err) {
      fail(err);
    }
  };
  const items = list.data?.items ?? [];
  return (
    <section className="dir-quotas" aria-labelledby="dir-quotas-title">
      <h2 id="dir-quotas-title">{t('dirQuotas')}</h2>
      {notice && (
        <p className="note" role="status">
          {notice}
        </p>
      )}
      {failure && (
        <p className="error" role="alert">
          {t('error', { message: failure })}
        </p>
      )}
      <Status loading={list.loading && !list.data} error={list.error}>
        {items.length === 0 ? (
          <p className="muted">{manager ? t('dqNone') : t('dqNoneOwned')}</p>
        ) : (
          <table className="dq-table">
            <thead>
              <tr>
                <th scope="col">{t('path')}</th>
                <th scope="col">{t('dqOwner')}</th>
                <th scope="col">{t('usedCol')}</th>
                <th scope="col">{t('state')}</th>
                {caller.role === 'admin' && <th scope="col">{t('actionsCol')}</th>}
              </tr>
            </thead>
            <tbody>
              {items.map((q) => (
                <QuotaRow key={q.id} q={q} admin={caller.role === 'admin'} onDone={done} onFail={fail} />
              ))}
            </tbody>
          </table>
        )}
        {(cursors.length > 0 || list.data?.nextCursor) && (
          <p className="actions">
            <button type="button" disabled={cursors.length === 0} onClick={() => setCursors(cursors.slice(0, -1))}>
              {t('previous')}
            </button>
            <button type="button" disabled={!list.data?.nextCursor} onClick={() => list.data?.nextCursor && setCursors([...cursors, list.data.nextCursor])}>
              {t('next')}
            </button>
          </p>
        )}
      </Status>
      {manager && (
        <>
          <p>
            <button type="button" onClick={discover}>
              {t('dqDiscover')}
            </button>
          </p>
          <CreateDirectoryQuota volumeId={volumeId} onCreated={(q) => done(t('dqCreated', { path: q.path }))} />
        </>
      )}
    </section>
  );
}

/** One quota's row; admins can take over an unmanaged one here. */
function QuotaRow({ q, admin, onDone, onFail }: { q: DirectoryQuota; admin: boolean; onDone: (m: string) => void; onFail: (e: unknown) => void }) {
  const { t } = useI18n();
  const caller = useCaller();
  const takeOver = async () => {
    try {
      await api(caller.token, 'PATCH', directoryQuotaApi(q.volumeId, q.id), { takeOver: true });
      onDone(t('dqTakenOver', { path: q.path }));
    } catch (err) {
      onFail(err);
    }
  };
  return (
    <tr data-dir-quota={q.path}>
      <td>
        <Link to={directoryQuotaPath(q.volumeId, q.id)}>
          <PathText b64={q.pathBase64} />
        </Link>{' '}
        <DirectoryQuotaFlags q={q} />
      </td>
      <td>{q.ownerSub ?? <span className="muted">{t('dqNoOwner')}</span>}</td>
      <td className="dq-usage">
        <DirectoryQuotaUsage q={q} />
      </td>
      <td>
        <StateBadge state={q.enforcement.unknownReason ? 'unknown' : q.enforcement.state} />
      </td>
      {admin && <td>{!q.managed && q.state === 'active' && <ConfirmButton label={t('dqTakeOver')} question={t('dqTakeOverQuestion', { path: q.path })} onConfirm={takeOver} />}</td>}
    </tr>
  );
}
