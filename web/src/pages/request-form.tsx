/**
 * Ask for more room on a whole volume: the shared request form (components/request-form-body.tsx:
 * the dry run before sending, the outcome after), posted to the volume's …/quota-requests.
 */
import type { Usage, Volume } from '../api/client';
import { Status } from '../components/common';
import { RequestFormBody } from '../components/request-form-body';
import { useI18n } from '../i18n/i18n';
import { Link } from '../router';
import { useGet } from '../use-api';

/** The page for `/volumes/{id}/request`. */
export function RequestForm({ id }: { id: string }) {
  const { t } = useI18n();
  const volume = useGet<Volume>(`/v1/volumes/${id}`);
  const usage = useGet<Usage>(volume.data ? `/v1/volumes/${id}/usage` : null);
  const name = volume.data?.name;
  return (
    <section>
      <Status loading={volume.loading} error={volume.error}>
        <h1>
          {t('requestMore')}: {name}
        </h1>
        <RequestFormBody
          url={`/v1/volumes/${id}/quota-requests`}
          subject={{ name: name ?? id, usedBytes: usage.data?.usedBytes, hardBytes: usage.data?.limits.hardBytes }}
          requireHard
          heading="h2"
          links={
            <>
              <Link to={`/volumes/${id}`}>{name}</Link> · <Link to="/requests">{t('myRequests')}</Link>
            </>
          }
        />
      </Status>
    </section>
  );
}
