/**
 * The admin's form to change an existing directory quota (PATCH …/directory-quotas/{quotaId}):
 * its four limits, its grace period and its owner. It opens filled in with what the quota holds;
 * an emptied limit is lifted, an emptied owner removed, and only the fields that changed are
 * sent, so a change made meanwhile to another field is not overwritten. A refusal (hard below
 * soft, above the platform's ceiling, no native quotas for a hard limit) shows the API's detail.
 */
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';
import { useCaller } from '../caller';
import { directoryQuotaApi, type DirectoryQuota } from '../components/directory-quota-parts';
import { DAY_SECONDS, LimitFields, parseBytes, parseCount, parseDays, QUOTA_LIMIT_FIELDS, type LimitValues, type Unit } from '../components/limit-fields';
import type { components } from '../api/schema';
import { UNIT_BYTES } from '../format';
import { useI18n } from '../i18n/i18n';

type UpdateDirectoryQuotaRequest = components['schemas']['UpdateDirectoryQuotaRequest'];
type Fields = LimitValues & { owner: string };

/** The largest unit in which the quota's byte limits read as at least 1 (MB when it has none). */
function unitFor(q: DirectoryQuota): Unit {
  const set = [q.quota.softBytes, q.quota.hardBytes].filter((n): n is number => n !== null && n > 0);
  const units = Object.keys(UNIT_BYTES) as Unit[];
  return set.length === 0 ? 'MB' : (units.filter((u) => set.every((n) => n >= UNIT_BYTES[u])).pop() ?? 'MB');
}

/** A number of `unit`s as the field shows it (trimmed of float noise), or '' for none. */
const inUnit = (n: number | null, unit: Unit) => (n === null ? '' : String(Number((n / UNIT_BYTES[unit]).toPrecision(12))));

/** The fields as the quota holds them. */
function fieldsOf(q: DirectoryQuota, unit: Unit): Fields {
  const c = (n: number | null) => (n === null ? '' : String(n));
  return {
    softBytes: inUnit(q.quota.softBytes, unit),
    hardBytes: inUnit(q.quota.hardBytes, unit),
    softInodes: c(q.quota.softInodes),
    hardInodes: c(q.quota.hardInodes),
    graceDays: String(Number((q.quota.graceSeconds / DAY_SECONDS).toPrecision(12))),
    owner: q.ownerSub ?? '',
  };
}

/** The PATCH body: each field whose value differs from the quota's (an empty limit is null). */
function changes(q: DirectoryQuota, f: Fields, unit: Unit): UpdateDirectoryQuotaRequest {
  const body: UpdateDirectoryQuotaRequest = {};
  const limits = {
    softBytes: parseBytes(f.softBytes, unit) ?? null,
    hardBytes: parseBytes(f.hardBytes, unit) ?? null,
    softInodes: parseCount(f.softInodes) ?? null,
    hardInodes: parseCount(f.hardInodes) ?? null,
  };
  for (const k of ['softBytes', 'hardBytes', 'softInodes', 'hardInodes'] as const) if (limits[k] !== q.quota[k]) body[k] = limits[k];
  const grace = parseDays(f.graceDays) ?? q.quota.graceSeconds;
  if (grace !== q.quota.graceSeconds) body.graceSeconds = grace;
  const owner = f.owner.trim() === '' ? null : f.owner.trim();
  if (owner !== q.ownerSub) body.ownerSub = owner;
  return body;
}

/** The form, collapsed under a summary until opened; `onSaved` gets the quota after the change. */
export function EditDirectoryQuota({ q, onSaved }: { q: DirectoryQuota; onSaved: (q: DirectoryQuota) => void }) {
  const { t } = useI18n();
  const caller = useCaller();
  const [unit, setUnit] = useState<Unit>(() => unitFor(q));
  const [f, setF] = useState<Fields>(() => fieldsOf(q, unitFor(q)));
  const [failure, setFailure] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const set = (k: keyof Fields, value: string) => setF({ ...f, [k]: value });
  // Another unit rescales the figures shown: a prefilled 2 (MB) must not silently become 2 GB.
  const pickUnit = (u: Unit) => {
    const rescale = (s: string) => (s.trim() === '' ? s : String(Number(((Number(s) * UNIT_BYTES[unit]) / UNIT_BYTES[u]).toPrecision(12))));
    setF({ ...f, softBytes: rescale(f.softBytes), hardBytes: rescale(f.hardBytes) });
    setUnit(u);
  };
  const body = changes(q, f, unit);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(undefined);
    setBusy(true);
    try {
      onSaved(await api<DirectoryQuota>(caller.token, 'PATCH', directoryQuotaApi(q.volumeId, q.id), body));
    } catch (err) {
      setFailure(err instanceof ApiError || err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <details className="dq-edit">
      <summary>{t('dqEditTitle')}</summary>
      <form onSubmit={submit} className="form">
        <LimitFields fields={QUOTA_LIMIT_FIELDS} values={f} onChange={set} unit={unit} onUnit={pickUnit} />
        <label>
          {t('dqOwnerLabel')}
          <input name="ownerSub" maxLength={256} value={f.owner} onChange={(e) => set('owner', e.target.value)} />
        </label>
        <p className="muted">{t('dqEditHelp')}</p>
        {failure && (
          <p className="error" role="alert">
            {t('error', { message: failure })}
          </p>
        )}
        <button type="submit" disabled={busy || Object.keys(body).length === 0}>
          {t('dqSave')}
        </button>
      </form>
    </details>
  );
}
