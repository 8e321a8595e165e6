/**
 * How tests decide whether a real server they need is there.
 *
 * Locally a missing server skips the tests that need it; under CI (`CI=true`) it fails the
 * run, because a green CI that skipped its real-server tests proves nothing.
 */
import net from 'node:net';
import { canConnect } from '../../server/lib/net.js';

/** True when running under CI, where a missing server is an error, not a skip. */
export const underCi = process.env.CI === 'true' || process.env.CI === '1';

/** The same check the server uses at start-up. */
export { canConnect };

/**
 * Decide whether to run a suite that needs `what`. Returns true to run, false to skip;
 * throws under CI when the server is missing so the run goes red.
 */
export function requireServer(what: string, available: boolean): boolean {
  if (available) return true;
  if (underCi) throw new Error(`${what} is required under CI but is not available`);
  console.warn(`[skip] ${what} not available: skipping tests that need it`);
  return false;
}

/** A free TCP port on 127.0.0.1, chosen by the OS. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}
