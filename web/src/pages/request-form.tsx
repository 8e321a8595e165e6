/**
 * Ask for more room. Before sending, the form asks the API's preview what filing would do (a rule
 * of the tenant's tier grants it at once, an admin decides, or it would be refused) and shows
 * exactly what the admin will see; after sending it shows the outcome the API decided.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api, ApiError, type QuotaRequestInput, type QuotaRequestRecord, type Usage, type Volume } from '../api/client';
import { useCaller } from '../caller';
import { Status } from '../components/common';
import { formatBytes, UNIT_BYTES } from '../format';
import { useI18n } from '../i18n/i18n';
import { Link } from '../router';
import { useGet } from '../use-api';

type Unit = keyof typeof UNIT_BYTES;

/** The page for `/volumes/{id}/request`. */
export function RequestForm({ id }: { id: string }) {
  const { t, dateTime } = useI18n();
  const caller = useCaller();
  const volume = useGet<Volume>(`/v1/volumes/${id}`);
  const usage = useGet<Usage>(volume.data ? `/v1/volumes/${id}/usage` : null);
  const [hard, setHard] = useState('');
  const [soft, setSoft] = useState('');
  const [inodes, setInodes] = useState('');
  const [unit, setUnit] = useState<Unit>('GB');
  const [temporary, setTemporary] = useState(false);
  const [until, setUntil] = useState('');
  const [reason, setReason] = useState('');
  const [result, setResult] = useState<QuotaRequestRecord | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  const bytes = (s: string) => (s.trim() === '' ? undefined : Math.round(Number(s) * UNIT_BYTES[unit]));
  const body: QuotaRequestInput = {
    reason: reason.trim(),
    ...(bytes(hard) !== undefined && { hardBytes: bytes(hard) }),
    ...(bytes(soft) !== undefined && { softBytes: bytes(soft) }),
    ...(inodes.trim() !== '' && { hardInodes: Math.round(Number(inodes)) }),
    ...(temporary && until && { until: new Date(`${until}T23:59:59Z`).toISOString() }),
  };
  // The preview follows the form, a moment after the last keystroke (it writes nothing).
  const [verdict, setVerdict] = useState<{ kind: 'granted' | 'queued' | 'refused'; text: string } | undefined>();
  const previewBody = JSON.stringify(body);
  useEffect(() => {
    if (body.reason.length < 3 || (body.hardBytes === undefined && body.softBytes === undefined && body.hardInodes === undefined)) {
      setVerdict(undefined);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      api<{ wouldApprove: boolean; explanation: string }>(caller.token, 'POST', `/v1/volumes/${id}/quota-requests/preview`, JSON.parse(previewBody))
        .then((v) => live && setVerdict({ kind: v.wouldApprove ? 'granted' : 'queued', text: v.explanation }))
        .catch((err: unknown) => live && setVerdict({ kind: 'refused', text: err instanceof ApiError ? err.message : String(err) }));
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [previewBody, id, caller.token]);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(undefined);
    try {
      setResult(await api<QuotaRequestRecord>(caller.token, 'POST', `/v1/volumes/${id}/quota-requests`, body));
    } catch (err) {
      setFailure(err instanceof ApiError ? err.message : String(err));
    }
  };
  const asked = [
    body.hardBytes !== undefined ? `${t('hard')} ${formatBytes(body.hardBytes)}` : '',
    body.softBytes !== undefined ? `${t('soft')} ${formatBytes(body.softBytes)}` : '',
    body.hardInodes !== undefined ? `${t('inodes')} ${body.hardInodes}` : '',
  ]
    .filter(Boolean)
    .join(', ');
  return (
    <section>
      <Status loading={volume.loading} error={volume.error}>
        <h1>
          {t('requestMore')}: {volume.data?.name}
        </h1>
        {result ? (
          <div className={`outcome outcome-${result.state}`} role="status">
            <p>{result.state === 'approved' ? t('approvedNow', { explanation: result.explanation }) : t('pendingNow', { explanation: result.explanation })}</p>
            <p>
              <Link to={`/volumes/${id}`}>{volume.data?.name}</Link> · <Link to="/requests">{t('myRequests')}</Link>
            </p>
          </div>
        ) : (
          <form onSubmit={submit} className="form">
            <label>
              {t('newHardBytes')}
              <input name="hardBytes" type="number" min="0" step="any" required value={hard} onChange={(e) => setHard(e.target.value)} />
            </label>
            <label>
              {t('newSoftBytes')}
              <input name="softBytes" type="number" min="0" step="any" value={soft} onChange={(e) => setSoft(e.target.value)} />
            </label>
            <label>
              {t('unit')}
              <select name="unit" value={unit} onChange={(e) => setUnit(e.target.value as Unit)}>
                {Object.keys(UNIT_BYTES).map((u) => (
                  <option key={u}>{u}</option>
                ))}
              </select>
            </label>
            <label>
              {t('newHardInodes')}
              <input name="hardInodes" type="number" min="0" step="1" value={inodes} onChange={(e) => setInodes(e.target.value)} />
            </label>
            <fieldset>
              <legend>{t('kind')}</legend>
              <label className="inline">
                <input type="radio" name="kind" checked={!temporary} onChange={() => setTemporary(false)} /> {t('permanent')}
              </label>
              <label className="inline">
                <input type="radio" name="kind" checked={temporary} onChange={() => setTemporary(true)} /> {t('temporary')}
              </label>
              {temporary && (
                <label>
                  {t('untilLabel')}
                  <input name="until" type="date" required value={until} onChange={(e) => setUntil(e.target.value)} />
                </label>
              )}
            </fieldset>
            <label>
              {t('reasonLabel')}
              <textarea name="reason" required minLength={3} maxLength={2000} value={reason} onChange={(e) => setReason(e.target.value)} />
            </label>
            <div className="preview" aria-live="polite">
              <h2>{t('previewTitle')}</h2>
              {verdict ? (
                <p className={`verdict verdict-${verdict.kind}`} data-testid="preview-verdict">
                  {verdict.kind === 'granted'
                    ? t('previewGranted', { explanation: verdict.text })
                    : verdict.kind === 'queued'
                      ? t('previewQueued', { explanation: verdict.text })
                      : t('previewRefused', { message: verdict.text })}
                </p>
              ) : (
                <p>{t('previewRule')}</p>
              )}
              <p>
                {t('previewAdmin', {
                  volume: volume.data?.name ?? id,
                  used: formatBytes(usage.data?.usedBytes),
                  hard: usage.data?.limits.hardBytes == null ? t('unlimited') : formatBytes(usage.data.limits.hardBytes),
                  asked: asked || '–',
                  until: body.until ? t('previewUntil', { at: dateTime(body.until) }) : '',
                  reason: body.reason,
                })}
              </p>
            </div>
            {failure && (
              <p className="error" role="alert">
                {t('error', { message: failure })}
              </p>
            )}
            <button type="submit">{t('submit')}</button>
          </form>
        )}
      </Status>
    </section>
  );
}
