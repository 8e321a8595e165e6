/**
 * Auto-approval of quota requests as a pure function. Rules belong to a tenant tier and are
 * edited by admins; a request is approved at once by the first rule that covers it, naming the
 * rule, and otherwise waits for an admin. Ceilings are guards: a request above its tier's
 * ceiling is never auto-approved, whatever else matches.
 */

/** Limits a request may ask for; absent = unchanged. */
export interface RequestedLimits {
  softBytes?: bigint;
  hardBytes?: bigint;
  softInodes?: bigint;
  hardInodes?: bigint;
}

/** The kinds of rule an admin can configure. */
export type Rule =
  | { id: string; kind: 'percent_increase'; maxPercent: number; cooldownDays: number }
  | { id: string; kind: 'temporary_grant'; maxFactor: number; maxDays: number }
  | { id: string; kind: 'tier_ceiling'; maxHardBytes: bigint | null; maxHardInodes: bigint | null };

/** The target's current limits: the volume's own, or a directory quota's for a directory request (null = unlimited). */
export interface CurrentLimits {
  softBytes: bigint | null;
  hardBytes: bigint | null;
  softInodes: bigint | null;
  hardInodes: bigint | null;
}

/** Outcome: the approving rule, or why none applied. */
export type Verdict = { approve: true; ruleId: string; explanation: string } | { approve: false; explanation: string };

/** Decides whether `req` is auto-approved under `rules`. */
export function evaluateRules(rules: Rule[], req: RequestedLimits & { until?: Date }, current: CurrentLimits, history: { lastAutoApprovedAt: Date | null }, now: Date): Verdict {
  for (const r of rules) {
    if (r.kind !== 'tier_ceiling') continue;
    const over = aboveCeiling(r, req);
    if (over) return { approve: false, explanation: `${over}; an admin must review it` };
  }
  const reasons: string[] = [];
  for (const r of rules) {
    if (r.kind === 'percent_increase') {
      if (req.until) {
        reasons.push(`rule ${r.id} covers permanent increases only`);
        continue;
      }
      if (history.lastAutoApprovedAt && now.getTime() - history.lastAutoApprovedAt.getTime() < r.cooldownDays * 86_400_000) {
        reasons.push(`rule ${r.id} allows one automatic increase every ${r.cooldownDays} days`);
        continue;
      }
      const factor = 1 + r.maxPercent / 100;
      const bad = firstOver(req, current, factor);
      if (bad) reasons.push(`rule ${r.id} allows at most +${r.maxPercent}%: ${bad}`);
      else return { approve: true, ruleId: r.id, explanation: `approved by rule ${r.id}: at most +${r.maxPercent}% once every ${r.cooldownDays} days` };
    } else if (r.kind === 'temporary_grant') {
      if (!req.until) {
        reasons.push(`rule ${r.id} covers temporary grants only`);
        continue;
      }
      const days = (req.until.getTime() - now.getTime()) / 86_400_000;
      if (days > r.maxDays) {
        reasons.push(`rule ${r.id} allows temporary grants of at most ${r.maxDays} days`);
        continue;
      }
      const bad = firstOver(req, current, r.maxFactor);
      if (bad) reasons.push(`rule ${r.id} allows at most ${r.maxFactor}x for a temporary grant: ${bad}`);
      else return { approve: true, ruleId: r.id, explanation: `approved by rule ${r.id}: temporary grant up to ${r.maxFactor}x for at most ${r.maxDays} days` };
    }
  }
  return { approve: false, explanation: reasons.length ? `no rule applies (${reasons.join('; ')}); an admin must review it` : 'no auto-approval rule for this tier; an admin must review it' };
}

function aboveCeiling(r: Extract<Rule, { kind: 'tier_ceiling' }>, req: RequestedLimits): string | null {
  if (r.maxHardBytes !== null && req.hardBytes !== undefined && req.hardBytes > r.maxHardBytes) return `hardBytes ${req.hardBytes} is above the tier ceiling ${r.maxHardBytes}`;
  if (r.maxHardInodes !== null && req.hardInodes !== undefined && req.hardInodes > r.maxHardInodes) return `hardInodes ${req.hardInodes} is above the tier ceiling ${r.maxHardInodes}`;
  return null;
}

/** The first requested limit above `factor` times its current value (an unlimited current value never matches a rule). */
function firstOver(req: RequestedLimits, cur: CurrentLimits, factor: number): string | null {
  const scaled = (x: bigint) => (x * BigInt(Math.round(factor * 10_000))) / 10_000n;
  for (const key of ['softBytes', 'hardBytes', 'softInodes', 'hardInodes'] as const) {
    const want = req[key];
    if (want === undefined) continue;
    const have = cur[key];
    if (have === null) return `${key} is unlimited today, so a number is not an increase a rule can judge`;
    if (want > scaled(have)) return `${key} ${want} > ${scaled(have)}`;
  }
  return null;
}
