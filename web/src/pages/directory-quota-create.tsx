/**
 * The admin's form to put a quota on an existing directory of a volume: path, limits (an empty
 * one is unlimited), grace and owner. The server resolves the path through JuiceFS and says why
 * when it cannot (no such directory, a quota set outside Headroom, no native quotas).
 */
import { useState, type FormEvent } from 'react';
import { api, ApiError } from '../api/client';
import { useCaller } from '../caller';
import type { CreateDirectoryQuotaRequest, DirectoryQuota } from '../components/directory-quota-parts';
import { LimitFields, parseBytes, parseCount, parseDays, QUOTA_LIMIT_FIELDS, type Unit } from '../components/limit-fields';
import { useI18n } from '../i18n/i18n';

const EMPTY = { path: '', softBytes: '', hardBytes: '', softInodes: '', hardInodes: '', graceDays: '', owner: '' };

/** The form, collapsed under a summary until opened. */
export function CreateDirectoryQuota({ volumeId, onCreated }: { volumeId: string; onCreated: (q: DirectoryQuota) => void }) {
  const { t } = useI18n();
  const caller = useCaller();
  const [f, setF] = useState(EMPTY);
  const [unit, setUnit] = useState<Unit>('GB');
  const [failure, setFailure] = useState<string | undefined>();
  const [busy, setBusy] = useState(false);
  const set = (k: keyof typeof f, value: string) => setF({ ...f, [k]: value });
  // An empty figure is left undefined, which JSON leaves out: the API reads an absent limit as none.
  const body = (): CreateDirectoryQuotaRequest => ({
    path: f.path.trim(),
    softBytes: parseBytes(f.softBytes, unit),
    hardBytes: parseBytes(f.hardBytes, unit),
    softInodes: parseCount(f.softInodes),
    hardInodes: parseCount(f.hardInodes),
    graceSeconds: parseDays(f.graceDays),
    ownerSub: f.owner.trim() || undefined,
  });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setFailure(undefined);
    setBusy(true);
    try {
      const q = await api<DirectoryQuota>(caller.token, 'POST', `/v1/volumes/${volumeId}/directory-quotas`, body());
      setF(EMPTY);
      onCreated(q);
    } catch (err) {
      setFailure(err instanceof ApiError || err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <details className="dq-create">
      <summary>{t('dqCreateTitle')}</summary>
      <form onSubmit={submit} className="form">
        <label>
          {t('dqPathLabel')}
          <input name="path" required pattern="/.*" placeholder="/team/alice" value={f.path} onChange={(e) => set('path', e.target.value)} />
        </label>
        <LimitFields fields={QUOTA_LIMIT_FIELDS} values={f} onChange={set} unit={unit} onUnit={setUnit} />
        <label>
          {t('dqOwnerLabel')}
          <input name="ownerSub" maxLength={256} value={f.owner} onChange={(e) => set('owner', e.target.value)} />
        </label>
        <p className="muted">{t('dqLimitsHelp')}</p>
        {failure && (
          <p className="error" role="alert">
            {t('error', { message: failure })}
          </p>
        )}
        <button type="submit" disabled={busy}>
          {t('dqCreate')}
        </button>
      </form>
    </details>
  );
}
