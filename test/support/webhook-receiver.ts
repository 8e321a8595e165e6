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
  /** Answer every request only after `ms` (0: at once), as a slow receiver does. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/**
 * Starts a receiver on a loopback port; `port` reuses one (a receiver that was down comes back
 * at the same address).
 */
export async function startReceiver(opts: { port?: number } = {}): Promise<TestReceiver> {
  const received: Received[] = [];
  let failures = 0;
  let delayMs = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    let hungUp = false;
    res.on('close', () => (hungUp = !res.writableFinished));
    req.on('end', () => {
      // Recorded on arrival; status 0 until answered, and for good if the caller hung up first.
      const entry: Received = { headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), status: 0 };
      received.push(entry);
      const answer = () => {
        if (hungUp) return;
        entry.status = failures > 0 ? 500 : 204;
        if (failures > 0) failures--;
        res.writeHead(entry.status).end();
      };
      if (delayMs > 0) setTimeout(answer, delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    delivered: () => received.filter((r) => r.status >= 200 && r.status < 300).map((r) => ({ headers: r.headers, json: JSON.parse(r.body) as Record<string, unknown> })),
    failNext: (n) => {
      failures = n;
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
