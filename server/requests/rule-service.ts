/** Admin editing of auto-approval rules, per tier, validated by kind and audited. */
import { ulid } from 'ulid';
import { z } from 'zod';
import type { Actor } from '../audit/audit-log.js';
import { errors } from '../lib/errors.js';
import type { RuleStore, StoredRule } from './rule-store.js';

const count = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** What each kind of rule takes (the policy in `auto-approval.ts` reads the same fields). */
const paramsByKind = {
  percent_increase: z.object({ maxPercent: z.number().gt(0).max(1000), cooldownDays: z.number().int().min(0).max(3650) }).strict(),
  temporary_grant: z.object({ maxFactor: z.number().gt(1).max(100), maxDays: z.number().int().min(1).max(365) }).strict(),
  tier_ceiling: z
    .object({ maxHardBytes: count.nullable(), maxHardInodes: count.nullable() })
    .strict()
    .refine((p) => p.maxHardBytes !== null || p.maxHardInodes !== null, 'a ceiling needs maxHardBytes or maxHardInodes'),
} as const;

/** A rule as an admin writes it. */
export interface RuleInput {
  tier: string;
  kind: keyof typeof paramsByKind;
  params: Record<string, unknown>;
  position?: number;
  enabled?: boolean;
  description?: string | null;
}

/** Rule use cases; each change commits with its audit row. */
export class RuleService {
  constructor(private readonly store: RuleStore) {}

  /** Rules, optionally of one tier, in evaluation order. */
  list(tier?: string): Promise<StoredRule[]> {
    return this.store.list(tier);
  }

  /** One rule; 404 `rule_not_found` when there is none. */
  async get(id: string): Promise<StoredRule> {
    const r = await this.store.find(id);
    if (!r) throw errors.ruleNotFound(id);
    return r;
  }

  /** Creates (no id) or replaces (id) a rule. */
  async save(actor: Actor, input: RuleInput, id?: string): Promise<{ rule: StoredRule; created: boolean }> {
    const params = parseRuleParams(input);
    return this.store.transaction(async ({ store, audit }) => {
      const before = id ? await store.find(id) : undefined;
      if (id && !before) throw errors.ruleNotFound(id);
      const rule = await store.save({
        id: id ?? `rul_${ulid().toLowerCase()}`,
        tier: input.tier,
        kind: input.kind,
        params,
        position: input.position ?? before?.position ?? 100,
        enabled: input.enabled ?? before?.enabled ?? true,
        description: input.description ?? null,
        createdBy: before?.createdBy ?? actor.sub,
      });
      await audit(actor, {
        action: before ? 'quota_rule.updated' : 'quota_rule.created',
        entityType: 'quota_rule',
        entityId: rule.id,
        tenantId: null,
        before: before ? image(before) : null,
        after: image(rule),
      });
      return { rule, created: !before };
    });
  }

  /** Deletes a rule; the deleted image. */
  async remove(actor: Actor, id: string): Promise<StoredRule> {
    return this.store.transaction(async ({ store, audit }) => {
      const before = await store.find(id);
      if (!before) throw errors.ruleNotFound(id);
      await store.remove(id);
      await audit(actor, { action: 'quota_rule.deleted', entityType: 'quota_rule', entityId: id, tenantId: null, before: image(before), after: null });
      return before;
    });
  }
}

/** A rule's params checked against its kind (400 validation_failed naming the fields); saves and previews share it. */
export function parseRuleParams(input: Pick<RuleInput, 'kind' | 'params'>): Record<string, unknown> {
  const parsed = paramsByKind[input.kind].safeParse(input.params);
  if (!parsed.success) {
    throw errors.validation(
      `params do not fit a ${input.kind} rule`,
      // An issue of the whole object (an unknown key, the ceiling's refine) points at /body/params itself.
      parsed.error.issues.map((i) => ({ path: ['/body/params', ...i.path].join('/'), message: i.message })),
    );
  }
  return parsed.data as Record<string, unknown>;
}

const image = (r: StoredRule) => ({ tier: r.tier, kind: r.kind, params: r.params, position: r.position, enabled: r.enabled, description: r.description });
