/** Small network checks used at start-up. */
import net from 'node:net';

/** Resolves true if something accepts TCP connections on host:port within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Which of the loopback addresses already has something listening on `port` (IPv4 and IPv6
 * separately: a server bound to `::` only would take the `localhost` traffic of one bound to
 * 0.0.0.0, and both binds succeed).
 */
export async function loopbackTaken(port: number): Promise<string | undefined> {
  for (const host of ['127.0.0.1', '::1']) if (await canConnect(host, port, 300)) return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return undefined;
}
