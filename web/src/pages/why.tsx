/** "Why is this volume frozen, and what happens next", in plain words from the enforcement answer. */
import type { Enforcement } from '../api/client';
import { StateBadge } from '../components/common';
import { formatBytes, formatCount } from '../format';
import { useI18n } from '../i18n/i18n';
import type { MessageKey } from '../i18n/messages';

/** The explanation block. */
export function Why({ e }: { e: Enforcement }) {
  const { t, dateTime } = useI18n();
  const reasonKey = `reason_${e.reason}` as MessageKey;
  const reason = t(reasonKey).startsWith('reason_') ? e.reason : t(reasonKey);
  const release = [e.releaseBelow.bytes != null ? formatBytes(e.releaseBelow.bytes) : null, e.releaseBelow.inodes != null ? `${formatCount(e.releaseBelow.inodes)} ${t('inodes')}` : null]
    .filter(Boolean)
    .join(' / ');
  let sentence: string;
  if (e.unknown) sentence = t('whyUnknown', { reason: e.unknown.reason ?? '' });
  else if (e.state === 'frozen' && e.manualFreeze) sentence = t('whyFrozenAdmin', { reason: e.manualFreeze.reason ?? '' });
  else if (e.state === 'frozen') sentence = t('whyFrozen', { reason, release: release || '–' });
  else if (e.state === 'over_soft') sentence = t('whyOverSoft', { deadline: dateTime(e.graceDeadline), release: release || '–' });
  else sentence = t('whyOk');
  return (
    <div className="why" data-state={e.unknown ? 'unknown' : e.state}>
      <p>
        <StateBadge state={e.unknown ? 'unknown' : e.state} /> <span className="why-sentence">{sentence}</span>
      </p>
      {e.toRelease?.bytes ? <p>{t('toFree', { bytes: formatBytes(e.toRelease.bytes) })}</p> : null}
      <h3>{t('layers')}</h3>
      <ul>
        <li>
          {t('layerMetadata')}: {e.layers.metadata ? t('layerOn') : t('layerOff')} ({e.layerStatus.metadata.inSync ? t('inSync') : t('notInSync')})
        </li>
        {e.layers.storage !== null && (
          <li>
            {t('layerStorage')}: {e.layers.storage ? t('layerOn') : t('layerOff')}
            {e.layerStatus.storage ? ` (${e.layerStatus.storage.inSync ? t('inSync') : t('notInSync')})` : ''}
          </li>
        )}
      </ul>
      {e.whatYouCanDo.length > 0 && (
        <>
          <h3>{t('whatToDo')}</h3>
          <ul>
            {e.whatYouCanDo.map((w) => (
              <li key={w}>{w}</li>
            ))}
          </ul>
        </>
      )}
      <details>
        <summary>{t('serverSays')}</summary>
        <p>{e.explanation}</p>
      </details>
    </div>
  );
}
