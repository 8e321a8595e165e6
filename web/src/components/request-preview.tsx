/**
 * The dry run of a quota request: while the form is filled in, the API's preview says what filing
 * it would do (a rule grants it at once, an admin decides, or it would be refused). It writes
 * nothing. The volume form (pages/request-form.tsx) and the directory quota's
 * (pages/directory-quota-request.tsx) both use it, each with its own …/preview path.
 */
import { useEffect, useState } from 'react';
import { api, ApiError, type QuotaRequestInput } from '../api/client';
import { useCaller } from '../caller';
import { useI18n } from '../i18n/i18n';

/** What the preview said. */
export interface Verdict {
  kind: 'granted' | 'queued' | 'refused';
  text: string;
}

/** Whether the body asks for anything the preview can judge. */
function judgeable(body: QuotaRequestInput): boolean {
  return body.reason.length >= 3 && (body.hardBytes !== undefined || body.softBytes !== undefined || body.hardInodes !== undefined || body.softInodes !== undefined);
}

/** Asks `url` (a …/preview path) about `body`, a moment after the last change. */
export function useRequestPreview(url: string, body: QuotaRequestInput): Verdict | undefined {
  const caller = useCaller();
  const [verdict, setVerdict] = useState<Verdict | undefined>();
  const json = JSON.stringify(body);
  useEffect(() => {
    const b = JSON.parse(json) as QuotaRequestInput;
    if (!judgeable(b)) {
      setVerdict(undefined);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      api<{ wouldApprove: boolean; explanation: string }>(caller.token, 'POST', url, b)
        .then((v) => live && setVerdict({ kind: v.wouldApprove ? 'granted' : 'queued', text: v.explanation }))
        .catch((err: unknown) => live && setVerdict({ kind: 'refused', text: err instanceof ApiError ? err.message : String(err) }));
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [json, url, caller.token]);
  return verdict;
}

/** The verdict as a sentence (or the general rule before there is one). */
export function VerdictLine({ verdict }: { verdict: Verdict | undefined }) {
  const { t } = useI18n();
  if (!verdict) return <p>{t('previewRule')}</p>;
  return (
    <p className={`verdict verdict-${verdict.kind}`} data-testid="preview-verdict">
      {verdict.kind === 'granted'
        ? t('previewGranted', { explanation: verdict.text })
        : verdict.kind === 'queued'
          ? t('previewQueued', { explanation: verdict.text })
          : t('previewRefused', { message: verdict.text })}
    </p>
  );
}
