/**
 * A quota request as the pages show it: its limits in words, its state, what it is for (the
 * volume, or one directory of it), and its row in a list.
 */
import type { LimitSet, QuotaRequestRecord } from '../api/client';
import { formatBytes, formatCount } from '../format';
import { useI18n } from '../i18n/i18n';
import type { MessageKey } from '../i18n/messages';
import { Link } from '../router';
import { VolumeLink } from './common';
import { directoryQuotaPath } from './directory-quota-parts';

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

/**
 * The directory a request is for, linked to its quota's page, or words saying it is for the
 * whole volume: a directory request and a volume request on the same volume must not look alike.
 */
export function RequestDirectory({ r }: { r: QuotaRequestRecord }) {
  const { t } = useI18n();
  if (!r.directoryQuotaId) return <span className="muted">{t('reqWholeVolume')}</span>;
  return (
    <span className="req-dir">
      {t('reqDirectory')}{' '}
      <Link className="path" to={directoryQuotaPath(r.volumeId, r.directoryQuotaId)}>
        {r.path ?? r.directoryQuotaId}
      </Link>
    </span>
  );
}

/** The column headings of {@link RequestRow}, in its order. */
export function RequestHeadings() {
  const { t } = useI18n();
  return (
    <tr>
      <th scope="col">{t('created')}</th>
      <th scope="col">{t('volume')}</th>
      <th scope="col">{t('reqDirectoryCol')}</th>
      <th scope="col">{t('requested')}</th>
      <th scope="col">{t('state')}</th>
      <th scope="col">{t('granted')}</th>
      <th scope="col">{t('outcome')}</th>
    </tr>
  );
}

/** One request as a table row: when, where, what was asked, and what came of it. */
export function RequestRow({ r }: { r: QuotaRequestRecord }) {
  const { dateTime } = useI18n();
  return (
    <tr data-request={r.id}>
      <td>{dateTime(r.createdAt)}</td>
      <td>
        <VolumeLink id={r.volumeId} />
      </td>
      <td>
        <RequestDirectory r={r} />
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
  );
}
