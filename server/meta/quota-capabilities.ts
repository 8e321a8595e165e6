/**
 * What a volume's `setting` says JuiceFS enforces natively (juicefs-metadata.md §7, §13): directory
 * quotas need a ≥ 1.1 format with `DirStats` on (clients neither count nor check quotas without
 * it); user/group quotas need `UserGroupQuota` (1.4). Shared by the TKV and Redis layouts, whose
 * settings are the same JSON.
 */
import type { QuotaCapabilities } from './volume-metadata.js';

/** Reads the capabilities from the setting text (never throws on unknown fields). */
export function capabilitiesOf(settingText: string): QuotaCapabilities {
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(settingText) as Record<string, unknown>;
  } catch {
    const why = 'the volume setting is not valid JSON';
    return { dirQuotas: false, userGroupQuotas: false, dirReason: why, userGroupReason: why };
  }
  // v0.17 settings have neither MetaVersion nor MinClientVersion (§8): no dir stats, no quotas.
  const legacy = s.MetaVersion === undefined && s.MinClientVersion === undefined;
  const dirQuotas = !legacy && s.DirStats === true;
  const userGroupQuotas = dirQuotas && s.UserGroupQuota === true;
  const dirReason = legacy
    ? 'the volume was formatted by JuiceFS v0.17, which has no directory quotas'
    : dirQuotas
      ? null
      : 'the volume has directory stats off (DirStats), so JuiceFS clients neither count nor enforce directory quotas';
  const userGroupReason = userGroupQuotas ? null : 'the volume format has no user/group quotas (they need JuiceFS 1.4 with UserGroupQuota on)';
  return { dirQuotas, userGroupQuotas, dirReason, userGroupReason };
}
