/**
 * Ask for more room in one directory: the volume request's form, look and dry run
 * (components/request-form-body.tsx), posted to the directory quota's …/requests. The same rules
 * and admin queue decide it as for volumes.
 */
import { directoryQuotaApi, type DirectoryQuota } from '../components/directory-quota-parts';
import { RequestFormBody } from '../components/request-form-body';
import { useI18n } from '../i18n/i18n';
import { Link } from '../router';

/** The form, then the outcome the API decided; `onFiled` runs once it is filed. */
export function DirectoryQuotaRequestForm({ q, onFiled }: { q: DirectoryQuota; onFiled: () => void }) {
  const { t } = useI18n();
  return (
    <RequestFormBody
      url={directoryQuotaApi(q.volumeId, q.id, '/requests')}
      subject={{ name: q.path, usedBytes: q.usage?.usedBytes, hardBytes: q.quota.hardBytes }}
      heading="h3"
      links={<Link to="/requests">{t('myRequests')}</Link>}
      onFiled={onFiled}
    />
  );
}
