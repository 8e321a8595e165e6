/**
 * The latest walk's largest directories, one level at a time: a directory's children are the
 * directories one level deeper whose path bytes start with its own. Paths are compared as bytes
 * (pathBase64), never as the display text, so names that are not UTF-8 drill down correctly.
 */
import { useState } from 'react';
import type { Directory, DirectoryList } from '../api/client';
import { PathText, Status } from '../components/common';
import { formatBytes, formatCount, pathKey } from '../format';
import { useI18n } from '../i18n/i18n';
import { useGet } from '../use-api';

/** The drill-down table. */
export function Directories({ volumeId }: { volumeId: string }) {
  const { t, dateTime } = useI18n();
  const [trail, setTrail] = useState<Directory[]>([]);
  const parent = trail[trail.length - 1];
  const depth = parent ? parent.depth + 1 : 1;
  const list = useGet<DirectoryList>(`/v1/volumes/${volumeId}/directories?depth=${depth}&limit=500`);
  const prefix = parent ? pathKey(parent.pathBase64) : '/';
  const sep = parent && !prefix.endsWith('/') ? `${prefix}/` : prefix;
  const children = (list.data?.items ?? []).filter((d) => d.depth === depth && pathKey(d.pathBase64).startsWith(sep)).slice(0, 50);
  return (
    <Status loading={list.loading && !list.data} error={list.error}>
      {list.data && !list.data.walk ? (
        <p className="muted">{t('noWalk')}</p>
      ) : (
        <>
          <p className="muted">{t('walkedAt', { at: dateTime(list.data?.walk?.finishedAt) })}</p>
          <p>
            {parent ? <PathText b64={parent.pathBase64} /> : '/'}{' '}
            {parent && (
              <button type="button" onClick={() => setTrail(trail.slice(0, -1))}>
                {t('up')}
              </button>
            )}
          </p>
          <table>
            <thead>
              <tr>
                <th scope="col">{t('path')}</th>
                <th scope="col">{t('bytes')}</th>
                <th scope="col">{t('inodes')}</th>
                <th scope="col">{t('files')}</th>
              </tr>
            </thead>
            <tbody>
              {children.map((d) => (
                <tr key={d.pathBase64}>
                  <td>
                    {d.dirs > 0 ? (
                      <button type="button" className="linklike" onClick={() => setTrail([...trail, d])}>
                        <PathText b64={d.pathBase64} />
                      </button>
                    ) : (
                      <PathText b64={d.pathBase64} />
                    )}
                  </td>
                  <td>{formatBytes(d.bytes)}</td>
                  <td>{formatCount(d.inodes)}</td>
                  <td>{formatCount(d.files)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </>
      )}
    </Status>
  );
}
