/**
 * The form that asks for more room, for a whole volume (pages/request-form.tsx) or for one
 * directory quota (pages/directory-quota-request.tsx): the limits asked for, how long, why, and
 * before sending the API's dry run (…/preview: a rule grants it at once, an admin decides, or it
 * would be refused) beside exactly what the admin will see. After sending it shows the outcome the
 * API decided. Both post to a requests collection; the same rules and admin queue decide them.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { api, ApiError, type QuotaRequestInput, type QuotaRequestRecord } from '../api/client';
import { useCaller } from '../caller';
import { formatBytes, formatCount } from '../format';
import { useI18n, type I18n } from '../i18n/i18n';
import { LimitFields, parseBytes, parseCount, type LimitField, type Unit } from './limit-fields';
import { useRequestPreview, VerdictLine } from './request-preview';

/** What the request is for, as the admin will see it: its name, its use and its hard limit now. */
export interface RequestSubject {
  name: string;
  usedBytes: number | null | undefined;
  hardBytes: number | null | undefined;
}

type Asked = 'hardBytes' | 'softBytes' | 'hardInodes';

/** The form as typed. */
interface Draft {
  limits: Record<Asked, string>;
  unit: Unit;
  temporary: boolean;
  until: string;
  reason: string;
}

const EMPTY: Draft = { limits: { hardBytes: '', softBytes: '', hardInodes: '' }, unit: 'GB', temporary: false, until: '', reason: '' };

/** The limits a request may ask for; a volume's request must name a hard one. */
function askedFields(requireHard: boolean): LimitField<Asked>[] {
  return [
    { name: 'hardBytes', label: 'newHardBytes', required: requireHard },
    { name: 'softBytes', label: 'newSoftBytes' },
    { name: 'hardInodes', label: 'newHardInodes' },
  ];
}

/** The API body (an empty figure is undefined, which JSON leaves out); a temporary grant ends with its day, UTC. */
function requestBody(d: Draft): QuotaRequestInput {
  return {
    reason: d.reason.trim(),
    hardBytes: parseBytes(d.limits.hardBytes, d.unit),
    softBytes: parseBytes(d.limits.softBytes, d.unit),
    hardInodes: parseCount(d.limits.hardInodes),
    until: d.temporary && d.until ? new Date(`${d.until}T23:59:59Z`).toISOString() : undefined,
  };
}

/** What is asked for, as one phrase ('' for nothing yet). */
function askedText(body: QuotaRequestInput, t: I18n['t']): string {
  return [
    body.hardBytes !== undefined ? `${t('hard')} ${formatBytes(body.hardBytes)}` : '',
    body.softBytes !== undefined ? `${t('soft')} ${formatBytes(body.softBytes)}` : '',
    body.hardInodes !== undefined ? `${t('inodes')} ${formatCount(body.hardInodes)}` : '',
  ]
    .filter(Boolean)
    .join(', ');
}

/** Permanent or temporary, and then until which day. */
function KindFields({ d, update }: { d: Draft; update: (change: Partial<Draft>) => void }) {
  const { t } = useI18n();
  return (
    <fieldset>
      <legend>{t('kind')}</legend>
      <label className="inline">
        <input type="radio" name="kind" checked={!d.temporary} onChange={() => update({ temporary: false })} /> {t('permanent')}
      </label>
      <label className="inline">
        <input type="radio" name="kind" checked={d.temporary} onChange={() => update({ temporary: true })} /> {t('temporary')}
      </label>
      {d.temporary && (
        <label>
          {t('untilLabel')}
          <input name="until" type="date" required value={d.until} onChange={(e) => update({ until: e.target.value })} />
        </label>
      )}
    </fieldset>
  );
}

/** The dry run's verdict and the sentence the admin will read. */
function Preview({ url, body, subject, heading }: { url: string; body: QuotaRequestInput; subject: RequestSubject; heading: 'h2' | 'h3' }) {
  const { t, dateTime } = useI18n();
  // The preview follows the form, a moment after the last keystroke (it writes nothing).
  const verdict = useRequestPreview(`${url}/preview`, body);
  const Heading = heading;
  return (
    <div className="preview" aria-live="polite">
      <Heading>{t('previewTitle')}</Heading>
      <VerdictLine verdict={verdict} />
      <p>
        {t('previewAdmin', {
          subject: subject.name,
          used: formatBytes(subject.usedBytes),
          hard: subject.hardBytes == null ? t('unlimited') : formatBytes(subject.hardBytes),
          asked: askedText(body, t) || '–',
          until: body.until ? t('previewUntil', { at: dateTime(body.until) }) : '',
          reason: body.reason,
        })}
      </p>
    </div>
  );
}

/**
 * The form, then the outcome with `links` under it. `url` is the requests collection to post to
 * (its `/preview` is the dry run); `heading` is the preview's heading level on its page.
 */
export function RequestFormBody(props: { url: string; subject: RequestSubject; requireHard?: boolean; heading: 'h2' | 'h3'; links: ReactNode; onFiled?: () => void }) {
  const { url, requireHard = false, onFiled } = props;
  const { t } = useI18n();
  const caller = useCaller();
  const [d, setD] = useState(EMPTY);
  const [result, setResult] = useState<QuotaRequestRecord | undefined>();
  const [failure, setFailure] = useState<string | undefined>();
  const update = (change: Partial<Draft>) => setD({ ...d, ...change });
  const body = requestBody(d);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(undefined);
    try {
      setResult(await api<QuotaRequestRecord>(caller.token, 'POST', url, body));
      onFiled?.();
    } catch (err) {
      setFailure(err instanceof ApiError ? err.message : String(err));
    }
  };
  if (result)
    return (
      <div className={`outcome outcome-${result.state}`} role="status">
        <p>{result.state === 'approved' ? t('approvedNow', { explanation: result.explanation }) : t('pendingNow', { explanation: result.explanation })}</p>
        <p>{props.links}</p>
      </div>
    );
  return (
    <form onSubmit={submit} className="form">
      <LimitFields fields={askedFields(requireHard)} values={d.limits} onChange={(k, v) => update({ limits: { ...d.limits, [k]: v } })} unit={d.unit} onUnit={(unit) => update({ unit })} />
      <KindFields d={d} update={update} />
      <label>
        {t('reasonLabel')}
        <textarea name="reason" required minLength={3} maxLength={2000} value={d.reason} onChange={(e) => update({ reason: e.target.value })} />
      </label>
      <Preview url={url} body={body} subject={props.subject} heading={props.heading} />
      {failure && (
        <p className="error" role="alert">
          {t('error', { message: failure })}
        </p>
      )}
      <button type="submit" disabled={askedText(body, t) === ''}>
        {t('submit')}
      </button>
    </form>
  );
}
