/** Prometheus metrics for the HTTP layer, on a registry owned by the app (not the global one). */
import type { RequestHandler } from 'express';
import client from 'prom-client';

/** The app's metric registry and the HTTP middleware that feeds it. */
export interface HttpMetrics {
  registry: client.Registry;
  middleware: RequestHandler;
}

/** Folders served as files (the API docs, the web pages): one label each, whatever the asset. */
const STATIC_PREFIXES = ['/docs', '/ui'];

/** The label of a request for a page or asset: its folder (null for the API). */
export function staticRoute(url: string): string | undefined {
  const path = url.split('?')[0]!;
  return STATIC_PREFIXES.find((p) => path === p || path.startsWith(`${p}/`));
}

/**
 * Counts requests and observes latency by method, route template (not the raw URL, so ids do
 * not explode cardinality) and status.
 */
export function createHttpMetrics(): HttpMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const labelNames = ['method', 'route', 'status'] as const;
  const requests = new client.Counter({ name: 'http_requests_total', help: 'HTTP requests', labelNames, registers: [registry] });
  const duration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const middleware: RequestHandler = (req, res, next) => {
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const route = staticRoute(req.originalUrl) ?? (req.route?.path ? String(req.route.path) : 'unmatched');
      const labels = { method: req.method, route, status: String(res.statusCode) };
      requests.inc(labels);
      duration.observe(labels, Number(process.hrtime.bigint() - start) / 1e9);
    });
    next();
  };
  return { registry, middleware };
}
