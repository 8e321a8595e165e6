/** A local HTTP server that receives webhooks, can fail on purpose, and records everything. */
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request as received. */
export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  status: number;
}

/** A running receiver. */
export interface TestReceiver {
  url: string;
  received: Received[];
  /** Requests answered 2xx, parsed. */
  delivered(): { headers: http.IncomingHttpHeaders; json: Record<string, unknown> }[];
  /** Answer the next `n` requests with 500. */
  failNext(n: number): void;
  close(): Promise<void>;
}

/** Starts a receiver on a loopback port. */
export async function startReceiver(): Promise<TestReceiver> {
  const received: Received[] = [];
  let failures = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const status = failures > 0 ? 500 : 204;
      if (failures > 0) failures--;
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    delivered: () => received.filter((r) => r.status < 300).map((r) => ({ headers: r.headers, json: JSON.parse(r.body) as Record<string, unknown> })),
    failNext: (n) => {
      failures = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
