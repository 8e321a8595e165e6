/**
 * The deployment files are part of the product: the alert rules must load and fire as their own
 * unit tests say (promtool), every metric they and the dashboard name must be one the server
 * exports, and the manifests must only set variables Headroom knows.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import client from 'prom-client';
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { envSchema } from '../../server/config.js';
import { requireServer } from '../support/servers.js';

const root = path.resolve(import.meta.dirname, '../..');
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');
const hasPromtool = spawnSync('promtool', ['--version']).status === 0;

/** Metric names the server registers: its own (from the source) and prom-client's defaults. */
function exportedMetrics(): Set<string> {
  const names = new Set<string>(['up']);
  const files = readdirSync(path.join(root, 'server'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  for (const f of files) for (const m of read(`server/${f}`).matchAll(/name: '((?:headroom|http)_[a-z_]+)'/g)) names.add(m[1]!);
  const reg = new client.Registry();
  client.collectDefaultMetrics({ register: reg });
  for (const m of reg.getMetricsAsArray()) names.add(m.name);
  for (const n of [...names]) for (const s of ['_bucket', '_sum', '_count']) names.add(n + s);
  return names;
}

/** Metric names in a PromQL expression (identifiers followed by `{`, `[` or a space / end). */
const metricsIn = (expr: string) =>
  [...expr.matchAll(/\b([a-z_][a-z0-9_]*)\s*(?=\{|\[|\)|$|\s)/g)].map((m) => m[1]!).filter((n) => /_/.test(n) && !['by', 'sum', 'max', 'rate', 'increase', 'histogram_quantile', 'time'].includes(n));

describe('deploy/', () => {
  it.skipIf(!requireServer('promtool (Debian package prometheus)', hasPromtool))('alert rules load, and fire exactly as their unit tests expect', () => {
    const cwd = path.join(root, 'deploy/prometheus');
    expect(execFileSync('promtool', ['check', 'rules', 'headroom-rules.yml'], { cwd, encoding: 'utf8' })).toContain('SUCCESS: 10 rules found');
    expect(execFileSync('promtool', ['test', 'rules', 'headroom-rules.test.yml'], { cwd, encoding: 'utf8' })).toContain('SUCCESS');
  });

  it('names only metrics the server exports, in the rules and the dashboard', () => {
    const known = exportedMetrics();
    const rules = YAML.parse(read('deploy/prometheus/headroom-rules.yml')) as { groups: { rules: { alert: string; expr: string }[] }[] };
    const dashboard = JSON.parse(read('deploy/grafana/headroom-fleet.json')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const exprs = [...rules.groups.flatMap((g) => g.rules.map((r) => r.expr)), ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))];
    const used = new Set(exprs.flatMap(metricsIn));
    expect([...used].filter((n) => !known.has(n))).toEqual([]);
    expect([...used].sort()).toEqual(
      expect.arrayContaining(['headroom_job_last_success_timestamp_seconds', 'headroom_volumes_by_enforcement_state', 'http_request_duration_seconds_bucket', 'process_resident_memory_bytes']),
    );
    // The alerts the operations issue asks for are all there.
    const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));
    expect(alerts).toEqual(expect.arrayContaining(['HeadroomVolumeFrozen', 'HeadroomCountersPassLate', 'HeadroomJobFailing', 'HeadroomNoticesFailing', 'HeadroomEnforcementDrift']));
  });

  it('Kubernetes manifests probe the right endpoints and set only known variables', () => {
    const docs = readdirSync(path.join(root, 'deploy/kubernetes'))
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) => YAML.parseAllDocuments(read(`deploy/kubernetes/${f}`)).map((d) => d.toJSON()));
    const kinds = docs.map((d) => d.kind).sort();
    expect(kinds).toEqual(['ConfigMap', 'Deployment', 'Kustomization', 'PodDisruptionBudget', 'Secret', 'Service']);
    const deployment = docs.find((d) => d.kind === 'Deployment');
    const container = deployment.spec.template.spec.containers[0];
    expect(container.readinessProbe.httpGet.path).toBe('/readyz');
    expect(container.livenessProbe.httpGet.path).toBe('/healthz');
    expect(deployment.spec.template.spec.securityContext.runAsNonRoot).toBe(true);
    const vars = [
      ...Object.keys(docs.find((d) => d.kind === 'ConfigMap').data),
      ...Object.keys(docs.find((d) => d.kind === 'Secret').stringData),
      ...container.env.map((e: { name: string }) => e.name),
    ];
    expect(vars.filter((v) => !(v in envSchema.shape))).toEqual([]);
    // Replicas are safe only with the shared lease store.
    expect(deployment.spec.replicas).toBeGreaterThan(1);
    expect(vars).toContain('REDIS_URL');
  });

  it('the Dockerfile runs compiled output on Node 24 as a non-root user, with a healthcheck', () => {
    const file = read('Dockerfile');
    expect(file.match(/^FROM node:24-\S+/gm)).toHaveLength(2);
    expect(file).toMatch(/^USER 10001:10001$/m);
    expect(file).toMatch(/^HEALTHCHECK .*\n.*\/healthz/m);
    expect(file).toMatch(/^CMD \["node", "dist\/server\/main\.js"\]$/m);
    expect(file).toMatch(/npm prune --omit=dev/);
    expect(file).toMatch(/^COPY --from=build .*\/app\/web\/dist \.\/web\/dist$/m);
  });

  it('docker compose: every service has a healthcheck, and Headroom waits for all of them', () => {
    const compose = YAML.parse(read('docker-compose.yml')) as { services: Record<string, Record<string, unknown>> };
    const services = Object.entries(compose.services);
    expect(services.filter(([name, s]) => name !== 'headroom' && !s.healthcheck).map(([n]) => n)).toEqual([]);
    const headroom = compose.services.headroom!;
    expect(headroom.build).toBe('.');
    const deps = headroom.depends_on as Record<string, { condition: string }>;
    expect(Object.keys(deps).sort()).toEqual(
      services
        .map(([n]) => n)
        .filter((n) => n !== 'headroom')
        .sort(),
    );
    expect(Object.values(deps).every((d) => d.condition === 'service_healthy')).toBe(true);
    const env = headroom.environment as Record<string, string>;
    expect(Object.keys(env).filter((v) => !(v in envSchema.shape))).toEqual([]);
  });
});
