/** The entity types audit rows are written with are the ones `GET /v1/audit` lets a caller filter by. */
import { describe, expect, it } from 'vitest';
import { AUDIT_ENTITY_TYPES } from '../../../server/audit/audit-log.js';
import { loadSpec } from '../../../server/http/openapi.js';

type Param = { name: string; schema?: { enum?: string[] } };

describe('audit entity types', () => {
  it("match the spec's entityType filter, directory quotas and channels included", () => {
    const spec = loadSpec() as { paths: Record<string, { get: { parameters: Param[] } }> };
    const param = spec.paths['/v1/audit']!.get.parameters.find((p) => p.name === 'entityType');
    expect([...(param?.schema?.enum ?? [])].sort()).toEqual([...AUDIT_ENTITY_TYPES].sort());
    expect(AUDIT_ENTITY_TYPES).toEqual(expect.arrayContaining(['directory_quota', 'channel']));
  });
});
