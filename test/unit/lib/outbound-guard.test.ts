import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { OutboundGuard, OutboundRefusedError } from '../../../server/lib/outbound-guard.js';

const check = (g: OutboundGuard, url: string) => g.check(new URL(url));

describe('OutboundGuard', () => {
  const strict = new OutboundGuard({ allow: [], internal: ['postgres://postgres@10.1.2.3:5432/headroom', 'http://10.1.2.4:8888', '10.1.2.5:2379'] });

  it.each([
    ['http://127.0.0.1:9000/hook', /loopback/],
    ['http://localhost:9000/hook', /loopback/],
    ['http://[::1]:9000/hook', /loopback/],
    ['http://169.254.169.254/latest/meta-data', /linkLocal/],
    ['http://10.0.0.7/hook', /private/],
    ['http://192.168.1.20/hook', /private/],
    ['http://[::ffff:127.0.0.1]/hook', /loopback/],
    ['http://0.0.0.0/hook', /unspecified/],
  ])('refuses %s', async (url, why) => {
    await expect(check(strict, url)).rejects.toThrow(OutboundRefusedError);
    await expect(check(strict, url)).rejects.toThrow(why);
  });

  it('lets public addresses through, and names the address it will connect to', async () => {
    await expect(check(strict, 'https://93.184.216.34/hook')).resolves.toEqual({ address: '93.184.216.34', family: 4 });
  });

  it('allows what OUTBOUND_ALLOW names, but Headroom’s own endpoints only by exact host:port', async () => {
    const g = new OutboundGuard({ allow: ['10.0.0.0/8', 'hooks.internal'], internal: ['http://10.1.2.4:8888', 'postgres://u:p@10.1.2.3:5432/db', 'redis://10.1.2.6'] });
    await expect(check(g, 'http://10.9.9.9/hook')).resolves.toMatchObject({ address: '10.9.9.9' });
    await expect(check(g, 'http://10.1.2.4:8888/etc/seaweedfs/filer.conf')).rejects.toThrow(/Headroom's own endpoints/);
    await expect(check(g, 'http://10.1.2.3:5432/')).rejects.toThrow(/Headroom's own endpoints/);
    await expect(check(g, 'http://10.1.2.6:6379/')).rejects.toThrow(/Headroom's own endpoints/); // default port of redis://
    await expect(check(g, 'http://10.1.2.4:9999/hook')).resolves.toMatchObject({ address: '10.1.2.4' }); // another port of that host
    const exact = new OutboundGuard({ allow: ['10.1.2.4:8888'], internal: ['http://10.1.2.4:8888'] });
    await expect(check(exact, 'http://10.1.2.4:8888/hook')).resolves.toMatchObject({ address: '10.1.2.4' });
  });

  it('posts pinned to the checked address, follows no redirect, and caps what it reads', async () => {
    const hits: string[] = [];
    const server = http.createServer((req, res) => {
      hits.push(`${req.method} ${req.url}`);
      if (req.url === '/moved') res.writeHead(302, { location: 'http://127.0.0.1:1/elsewhere' }).end();
      else res.writeHead(200).end(Buffer.alloc(200_000, 1));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as AddressInfo).port;
    try {
      const g = new OutboundGuard({ allow: ['127.0.0.1'], internal: [] });
      const moved = await g.post(`http://127.0.0.1:${port}/moved`, { 'content-type': 'application/json' }, '{}', 2000);
      expect(moved.status).toBe(302);
      const big = await g.post(`http://127.0.0.1:${port}/big`, {}, '{}', 2000);
      expect(big.status).toBe(200);
      expect(big.body.length).toBeLessThanOrEqual(64 * 1024);
      expect(hits).toEqual(['POST /moved', 'POST /big']);
      await expect(strict.post(`http://127.0.0.1:${port}/hook`, {}, '{}', 2000)).rejects.toThrow(/loopback/);
      expect(hits).toHaveLength(2); // refused before connecting
    } finally {
      server.close();
    }
  });
});
