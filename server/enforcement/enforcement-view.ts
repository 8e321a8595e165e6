/**
 * The answer to "why am I frozen?": the state, the numbers that caused it, since when, the grace
 * deadline, exactly what will release the volume, and the history of transitions.
 */
import type { Db } from '../db/database.js';
import { humanBytes, humanCount, humanTime } from '../notifications/humanize.js';
import type { UsageReadModel } from '../quotas/usage-read-model.js';
import { pendingLink, whatYouCanDo } from '../requests/guidance.js';
import type { Volume } from '../volumes/volume.js';
import { initialState, type EnforcementStore, type StateRow } from './enforcement-store.js';
import { layerKey, type Layer, type LayerRow, type LayerStore } from './layer-store.js';
import { limitsOf, releaseLine, toRelease } from './policy.js';

const n = (x: bigint | null | undefined) => (x === null || x === undefined ? null : Number(x));
const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

/** Builds the enforcement answer of one volume. */
export async function enforcementView(
  db: Db,
  reads: { states: EnforcementStore; layers: LayerStore; usage: Pick<UsageReadModel, 'latest'> },
  v: Volume,
  opts: { hysteresis: number; publicUrl: string; storageLayer: boolean },
  now: Date,
) {
  const { hysteresis, publicUrl, storageLayer } = opts;
  const layers = reads.layers;
  const states = reads.states.transacting(db);
  const s = (await states.findState(v.id)) ?? initialState(v.id, v.tenantId, v.createdAt);
  const reading = (await reads.usage.latest(db, [v.id])).get(v.id);
  const history = await states.listTransitions(v.id, 50);
  const limits = limitsOf(v);
  const usage = reading?.bytes != null ? { bytes: reading.bytes, inodes: reading.inodes ?? 0n } : s.bytes !== null ? { bytes: s.bytes, inodes: s.inodes ?? 0n } : null;
  const line = releaseLine(limits, hysteresis);
  const need = usage ? toRelease(limits, usage, hysteresis) : null;
  const pending = await pendingLink(db, v.id, publicUrl);
  const rows = await layers.load([v.id]);
  const layerStatus = {
    metadata: layerView(s, 'metadata', rows.get(layerKey(v.id, 'metadata'))),
    storage: storageLayer && v.storage.bucket ? layerView(s, 'storage', rows.get(layerKey(v.id, 'storage'))) : null,
  };
  return {
    volumeId: v.id,
    state: s.state,
    reason: s.reason,
    since: s.since.toISOString(),
    graceDeadline: iso(s.graceDeadline),
    frozenBy: s.state !== 'frozen' ? null : s.manual ? ('admin' as const) : ('policy' as const),
    layers: { metadata: s.state === 'frozen', storage: layerStatus.storage ? s.storageDesired : null },
    layerStatus,
    storageUsage:
      reading?.storageBytes != null
        ? {
            bytes: n(reading.storageBytes),
            objects: n(reading.storageObjects),
            readAt: iso(reading.storageReadAt),
            gapBytes: reading.bytes != null ? Number(reading.storageBytes - reading.bytes) : null,
          }
        : null,
    causedBy: s.bytes === null ? null : { bytes: n(s.bytes), inodes: n(s.inodes), readAt: iso(s.readAt) },
    usage: reading ? { bytes: n(reading.bytes), inodes: n(reading.inodes), readAt: iso(reading.readAt), error: reading.error, errorAt: iso(reading.errorAt) } : null,
    limits: { softBytes: n(limits.softBytes), hardBytes: n(limits.hardBytes), softInodes: n(limits.softInodes), hardInodes: n(limits.hardInodes), graceSeconds: limits.graceSeconds },
    juicefsLimits: s.desiredCapacity === null ? null : { capacity: n(s.desiredCapacity), inodes: n(s.desiredInodes) },
    releaseBelow: { bytes: n(line.bytes), inodes: n(line.inodes) },
    toRelease: need && { bytes: n(need.bytes), inodes: n(need.inodes) },
    manualFreeze: s.manual && { reason: s.manual.reason, until: iso(s.manual.until), by: s.manual.by, at: s.manual.at.toISOString() },
    unknown: s.unknownReason ? { reason: s.unknownReason, since: iso(s.unknownSince) } : null,
    explanation: [explain(s, usage, line, need, now), ...[layerStatus.metadata, layerStatus.storage].flatMap((l) => (l ? convergenceLine(l) : []))].join(' '),
    pendingRequest: pending,
    whatYouCanDo: whatYouCanDo({ volumeId: v.id, publicUrl, state: s.state, manual: s.manual, toRelease: need, pending }),
    history: history.map((t) => ({ at: t.at.toISOString(), from: t.from, to: t.to, reason: t.reason, bytes: n(t.bytes), inodes: n(t.inodes), actor: t.actor, detail: t.detail })),
  };
}

function explain(
  s: StateRow,
  usage: { bytes: bigint; inodes: bigint } | null,
  line: { bytes: bigint | null; inodes: bigint | null },
  need: { bytes: bigint; inodes: bigint } | null,
  now: Date,
): string {
  const parts: string[] = [];
  if (s.unknownReason) parts.push(`Headroom is not enforcing this volume right now: ${s.unknownReason}. Its state is left as it was until its data can be trusted again.`);
  const below = [line.bytes !== null ? humanBytes(line.bytes) : null, line.inodes !== null ? `${humanCount(line.inodes)} files` : null].filter(Boolean).join(' and ');
  const free = need ? [need.bytes > 0n ? humanBytes(need.bytes) : null, need.inodes > 0n ? `${humanCount(need.inodes)} files` : null].filter(Boolean).join(' and ') : '';
  const used = usage ? `${humanBytes(usage.bytes)} in ${humanCount(usage.inodes)} files` : 'unknown usage';
  if (s.state === 'ok') parts.push(`Writes are allowed; usage (${used}) is within the limits.`);
  if (s.state === 'over_soft') {
    parts.push(
      `Usage (${used}) is over the soft limit since ${humanTime(s.since.toISOString())}. Writes continue until ${s.graceDeadline ? humanTime(s.graceDeadline.toISOString()) : 'the grace period ends'}; after that they stop.`,
    );
    parts.push(`To clear it, get below ${below}${free ? ` (delete at least ${free})` : ''}, or request a larger quota.`);
  }
  if (s.state === 'frozen' && s.manual) {
    const until = s.manual.until && s.manual.until > now ? ` or at ${humanTime(s.manual.until.toISOString())}, when it expires` : '';
    parts.push(
      `An admin (${s.manual.by}) froze writes on ${humanTime(s.manual.at.toISOString())}: ${s.manual.reason}. It is lifted when an admin unfreezes it${until}; reading and deleting still work.`,
    );
  } else if (s.state === 'frozen') {
    const why = s.reason.startsWith('hard') ? 'the hard limit was reached' : 'usage stayed over the soft limit past the grace period';
    parts.push(`Writes are stopped since ${humanTime(s.since.toISOString())} because ${why}. Reading and deleting still work.`);
    parts.push(`Writes resume at the next check (within minutes) once usage is below ${below}${free ? `: delete at least ${free}` : ''}, or as soon as a larger quota is approved.`);
    parts.push('Deleted files go to the .trash folder first and keep counting until they are purged; remove them from .trash to free the space at once.');
  }
  if (s.state === 'frozen' && s.storageDesired)
    parts.push('The object store refuses new uploads to the volume too (a read-only rule on its bucket), so clients that ignore the JuiceFS limit cannot write either.');
  return parts.join(' ');
}

/** One layer's desired state next to what was last seen in the system. */
interface LayerView {
  layer: Layer;
  desired: Record<string, unknown> | null;
  observed: Record<string, unknown> | null;
  generation: number;
  appliedGeneration: number;
  inSync: boolean;
  verifiedAt: string | null;
  lastError: string | null;
  lastErrorAt: string | null;
  retryAt: string | null;
  drifts: number;
  lastDriftAt: string | null;
}

function layerView(s: StateRow, layer: Layer, row: LayerRow | undefined): LayerView {
  const generation = layer === 'metadata' ? s.metadataGeneration : s.storageGeneration;
  const desired = layer === 'metadata' ? (s.desiredCapacity === null ? null : { capacity: Number(s.desiredCapacity), inodes: Number(s.desiredInodes ?? 0n) }) : { frozen: s.storageDesired };
  // Observed values are stored as decimal strings (bytes past 2^53); shown as numbers like the rest.
  const observed = row?.observed ? Object.fromEntries(Object.entries(row.observed).map(([k, x]) => [k, typeof x === 'string' ? Number(x) : x])) : null;
  // No row: the seeded generation 0, written by onboarding itself.
  const applied = row?.appliedGeneration ?? 0n;
  // Compared key by key: PostgreSQL's jsonb does not keep the order keys were written in.
  const same = observed === null ? row === undefined : desired !== null && Object.entries(desired).every(([k, x]) => observed[k] === x);
  return {
    layer,
    desired,
    observed,
    generation: Number(generation),
    appliedGeneration: Number(applied),
    inSync: applied >= generation && same,
    verifiedAt: iso(row?.verifiedAt),
    lastError: row?.lastError ?? null,
    lastErrorAt: iso(row?.lastErrorAt),
    retryAt: iso(row?.retryAt),
    drifts: row?.drifts ?? 0,
    lastDriftAt: iso(row?.lastDriftAt),
  };
}

/** Says so when a layer does not (yet) hold what Headroom decided. */
function convergenceLine(l: LayerView): string[] {
  if (l.inSync) return [];
  const where = l.layer === 'metadata' ? 'JuiceFS setting' : 'object store rule';
  const err = l.lastError ? ` The last attempt failed: ${l.lastError}.` : '';
  return [`Headroom's decision is not in the ${where} yet: it is being applied, retried with backoff and checked at every pass.${err}`];
}
