/**
 * What admins (and, where the API allows, the platform) do to one directory quota: freeze and
 * unfreeze it, check its JuiceFS record against the real usage (and repair it), take over one
 * set outside Headroom, and delete it. Destructive actions ask once more; a refusal shows the
 * API's problem detail.
 */
import { useState } from 'react';
import { api, ApiError } from '../api/client';
import { useCaller } from '../caller';
import { ConfirmButton } from '../components/confirm-button';
import { directoryQuotaApi, type DirectoryQuota, type DirectoryQuotaCheck } from '../components/directory-quota-parts';
import { formatBytes, formatCount } from '../format';
import { useI18n } from '../i18n/i18n';
import { Link } from '../router';

/** Calls the API for one action; resolves with the answer, or undefined when it was refused. */
type Act = <T>(method: string, suffix: string, body: object | undefined, message: string, after?: () => void) => Promise<T | undefined>;

/** The actions, with the outcome of the last one. */
export function DirectoryQuotaActions({ q, onChanged, onDeleted }: { q: DirectoryQuota; onChanged: () => void; onDeleted: (q: DirectoryQuota) => void }) {
  const { t } = useI18n();
  const caller = useCaller();
  const admin = caller.role === 'admin';
  const [notice, setNotice] = useState<string | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  // On success: say `message`, then reload the quota (or whatever `after` does).
  const act: Act = async <T,>(method: string, suffix: string, body: object | undefined, message: string, after = onChanged) => {
    setFailure(undefined);
    setNotice(undefined);
    try {
      const r = await api<T>(caller.token, method, directoryQuotaApi(q.volumeId, q.id, suffix), body);
      setNotice(message);
      after();
      return r;
    } catch (err) {
      setFailure(err instanceof ApiError || err instanceof Error ? err.message : String(err));
      return undefined;
    }
  };
  if (q.state === 'deleted') return null;
  return (
    <section className="dq-actions" aria-labelledby="dq-actions-title">
      <h2 id="dq-actions-title">{t('dqAdminTitle')}</h2>
      {notice && (
        <p className="note" role="status">
          {notice} <Link to={`/volumes/${q.volumeId}`}>{t('dqBackToVolume')}</Link>
        </p>
      )}
      {failure && (
        <p className="error" role="alert">
          {t('error', { message: failure })}
        </p>
      )}
      {admin && !q.managed && (
        <div className="actions">
          <ConfirmButton label={t('dqTakeOver')} question={t('dqTakeOverQuestion', { path: q.path })} onConfirm={() => act('PATCH', '', { takeOver: true }, t('dqTakenOver', { path: q.path }))} />
        </div>
      )}
      {admin && q.managed && <FreezeControls q={q} act={act} />}
      <CheckControls canRepair={admin && q.managed} act={act} />
      <div className="actions">
        <ConfirmButton
          label={t('dqDelete')}
          question={t('dqDeleteQuestion', { path: q.path })}
          onConfirm={() => act<DirectoryQuota>('DELETE', '', undefined, t('dqDeletingNow', { path: q.path }), () => {}).then((d) => (d?.state === 'deleted' ? onDeleted(d) : d && onChanged()))}
        />
      </div>
    </section>
  );
}

/** Freeze (with a reason and an optional end), or lift an admin's freeze. */
function FreezeControls({ q, act }: { q: DirectoryQuota; act: Act }) {
  const { t } = useI18n();
  const [reason, setReason] = useState('');
  const [until, setUntil] = useState('');
  const [liftReason, setLiftReason] = useState('');
  if (q.enforcement.manualFreeze)
    return (
      <div className="actions">
        <label>
          {t('dqUnfreezeReason')}
          <input name="unfreezeReason" minLength={3} maxLength={1000} value={liftReason} onChange={(e) => setLiftReason(e.target.value)} />
        </label>
        <button type="button" disabled={liftReason.trim().length < 3} onClick={() => act('POST', '/unfreeze', { reason: liftReason.trim() }, t('dqUnfrozeNow'))}>
          {t('dqUnfreeze')}
        </button>
      </div>
    );
  const body = { reason: reason.trim(), ...(until && { until: new Date(`${until}T23:59:59Z`).toISOString() }) };
  return (
    <div className="actions">
      <label>
        {t('dqFreezeReason')}
        <input name="freezeReason" minLength={3} maxLength={1000} value={reason} onChange={(e) => setReason(e.target.value)} />
      </label>
      <label>
        {t('dqFreezeUntil')}
        <input name="freezeUntil" type="date" value={until} onChange={(e) => setUntil(e.target.value)} />
      </label>
      <ConfirmButton label={t('dqFreeze')} question={t('dqFreezeQuestion', { path: q.path })} disabled={reason.trim().length < 3} onConfirm={() => act('POST', '/freeze', body, t('dqFrozeNow'))} />
    </div>
  );
}

/** Compare the record with the real usage; a repair (admin, managed quotas) asks first. */
function CheckControls({ canRepair, act }: { canRepair: boolean; act: Act }) {
  const { t } = useI18n();
  const [repair, setRepair] = useState(false);
  const [check, setCheck] = useState<DirectoryQuotaCheck | undefined>();
  const run = (body: object) => act<DirectoryQuotaCheck>('POST', '/check', body, t('done')).then(setCheck);
  return (
    <>
      <div className="actions">
        {canRepair && (
          <label className="inline">
            <input type="checkbox" name="repair" checked={repair} onChange={(e) => setRepair(e.target.checked)} /> {t('dqRepair')}
          </label>
        )}
        {repair ? (
          <ConfirmButton label={t('dqCheckRepair')} question={t('dqRepairQuestion')} onConfirm={() => run({ repair: true })} />
        ) : (
          <button type="button" onClick={() => run({})}>
            {t('dqCheck')}
          </button>
        )}
      </div>
      {check && <CheckResult c={check} />}
    </>
  );
}

/** The record's usage next to the subtree's real usage. */
function CheckResult({ c }: { c: DirectoryQuotaCheck }) {
  const { t } = useI18n();
  return (
    <div className="dq-check" data-testid="dq-check" data-consistent={String(c.consistent)}>
      <p>
        {!c.recordPresent ? t('dqCheckNoRecord') : c.consistent ? t('dqConsistent') : t('dqDrift', { bytes: formatBytes(c.drift?.bytes), inodes: formatCount(c.drift?.inodes) })}
        {c.repaired && ` ${t('dqRepaired')}`}
      </p>
      <p className="muted">
        {t('dqCheckFigures', {
          recorded: c.recorded ? `${formatBytes(c.recorded.usedBytes)} / ${formatCount(c.recorded.usedInodes)}` : '–',
          actual: `${formatBytes(c.actual.usedBytes)} / ${formatCount(c.actual.usedInodes)}`,
        })}
      </p>
    </div>
  );
}
