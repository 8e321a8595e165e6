/** Small pieces shared by the pages: loading and error lines, state badges, path text. */
import type { ReactNode } from 'react';
import { ApiError, type Volume } from '../api/client';
import { displayPath } from '../format';
import { useI18n } from '../i18n/i18n';
import type { MessageKey } from '../i18n/messages';
import { Link } from '../router';
import { useGet } from '../use-api';

/** Shows loading, an error, or the content. */
export function Status({ loading, error, children }: { loading: boolean; error: Error | undefined; children?: ReactNode }) {
  const { t } = useI18n();
  if (error)
    return (
      <p className="error" role="alert">
        {error instanceof ApiError && error.status === 404 ? t('notFound') : t('error', { message: error.message })}
      </p>
    );
  if (loading) return <p className="muted">{t('loading')}</p>;
  return <>{children}</>;
}

/** An enforcement state as a coloured badge with a word (colour is never the only sign). */
export function StateBadge({ state }: { state: string }) {
  const { t } = useI18n();
  const known = ['ok', 'over_soft', 'frozen'].includes(state) ? state : 'unknown';
  return <span className={`badge badge-${known}`}>{t(`state_${known}` as MessageKey)}</span>;
}

/** A path from its exact bytes, rendered as text only. */
export function PathText({ b64 }: { b64: string }) {
  const { t } = useI18n();
  const p = displayPath(b64);
  return (
    <span className="path">
      {p.text}
      {!p.valid && <span className="muted"> {t('invalidUtf8')}</span>}
    </span>
  );
}

/** A link to a volume by its name (its id until the name is loaded, or if it cannot be). */
export function VolumeLink({ id }: { id: string }) {
  const v = useGet<Volume>(`/v1/volumes/${id}`);
  return <Link to={`/volumes/${id}`}>{v.data ? `${v.data.tenantId} / ${v.data.name}` : id}</Link>;
}
