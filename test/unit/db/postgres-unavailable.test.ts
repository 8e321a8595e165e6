/**
 * Which errors say "PostgreSQL cannot be reached right now" (503, retry) rather than "this
 * statement is wrong" (a real 500): the classifier the error middleware uses.
 */
import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { createDb, isPostgresUnavailable } from '../../../server/db/database.js';
import { freePort } from '../../support/servers.js';

/** A pg DatabaseError as node-postgres builds it: a SQLSTATE and a severity. */
const pgError = (code: string, message = 'x') => Object.assign(new Error(message), { code, severity: 'FATAL' });

describe('isPostgresUnavailable', () => {
  it('is true for connection-class SQLSTATEs and for connections cut under a statement', () => {
    expect(isPostgresUnavailable(pgError('57P01', 'terminating connection due to administrator command'))).toBe(true);
    expect(isPostgresUnavailable(pgError('57P02'))).toBe(true);
    expect(isPostgresUnavailable(pgError('57P03', 'the database system is starting up'))).toBe(true);
    expect(isPostgresUnavailable(pgError('08006'))).toBe(true);
    expect(isPostgresUnavailable(new Error('Connection terminated unexpectedly'))).toBe(true);
    // knex puts the statement first.
    expect(isPostgresUnavailable(new Error('select * from "volumes" where "id" = $1 limit $2 - Connection terminated unexpectedly'))).toBe(true);
    expect(isPostgresUnavailable(new Error('COMMIT; - Connection terminated unexpectedly'))).toBe(true);
  });

  it('is false for statement errors and for socket errors it did not see PostgreSQL raise', () => {
    expect(isPostgresUnavailable(pgError('23505', 'duplicate key value violates unique constraint'))).toBe(false);
    expect(isPostgresUnavailable(pgError('57014', 'canceling statement due to statement timeout'))).toBe(false);
    expect(isPostgresUnavailable(pgError('42P01', 'relation "x" does not exist'))).toBe(false);
    // A bare ECONNREFUSED may be any dependency's: only one raised getting a PostgreSQL connection counts.
    expect(isPostgresUnavailable(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:6379'), { code: 'ECONNREFUSED', syscall: 'connect' }))).toBe(false);
    expect(isPostgresUnavailable(Object.assign(new Error('x'), { code: '08006' }))).toBe(false); // no severity: not pg's
    expect(isPostgresUnavailable(undefined)).toBe(false);
    expect(isPostgresUnavailable('Connection terminated')).toBe(false);
  });

  it('is true for a socket reset under a query on a pooled connection (tagged by the pool)', async () => {
    // Just enough of PostgreSQL's protocol to hand out a connection: AuthenticationOk and
    // ReadyForQuery, then an answer to knex's `select version();`; the next query gets its
    // connection reset (RST), as a crashing server does.
    const msg = (type: string, body: Buffer) => Buffer.concat([Buffer.from(type), Buffer.from([0, 0, 0, 0].map((_, i) => ((body.length + 4) >> (8 * (3 - i))) & 0xff)), body]);
    const i16 = (n: number) => Buffer.from([(n >> 8) & 0xff, n & 0xff]);
    const i32 = (n: number) => Buffer.from([0, 0, 0, 0].map((_, i) => (n >> (8 * (3 - i))) & 0xff));
    const ready = msg('Z', Buffer.from('I'));
    const version = Buffer.from('PostgreSQL 15.0');
    const answerVersion = Buffer.concat([
      msg('T', Buffer.concat([i16(1), Buffer.from('version\0'), i32(0), i16(0), i32(25), i16(-1), i32(-1), i16(0)])),
      msg('D', Buffer.concat([i16(1), i32(version.length), version])),
      msg('C', Buffer.from('SELECT 1\0')),
      ready,
    ]);
    const server = net.createServer((socket) => {
      let step = 0;
      socket.on('data', () => {
        step++;
        if (step === 1) socket.write(Buffer.concat([msg('R', i32(0)), ready]));
        else if (step === 2) socket.write(answerVersion);
        else socket.resetAndDestroy();
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as net.AddressInfo;
    const db = createDb(`postgres://postgres@127.0.0.1:${port}/none`, 1);
    try {
      const err = await db.raw('select 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as { code?: string }).code).toBe('ECONNRESET');
      expect(isPostgresUnavailable(err)).toBe(true);
    } finally {
      await db.destroy();
      await new Promise((r) => server.close(r));
    }
  });

  it('is true for the error of a connection PostgreSQL refused (tagged by the pool)', async () => {
    const port = await freePort(); // nothing listens there
    const db = createDb(`postgres://postgres@127.0.0.1:${port}/none`, 1);
    try {
      const err = await db.raw('select 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect((err as { code?: string }).code).toBe('ECONNREFUSED');
      expect(isPostgresUnavailable(err)).toBe(true);
    } finally {
      await db.destroy();
    }
  });

  it('gives up on a server that accepts and never answers within 5 s, as PostgreSQL unavailable', async () => {
    const sockets: net.Socket[] = [];
    const silent = net.createServer((sock) => void sockets.push(sock)); // accepts, never speaks
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const db = createDb(`postgres://postgres@127.0.0.1:${(silent.address() as net.AddressInfo).port}/none`, 1);
    try {
      const t0 = Date.now();
      const err = await db.raw('select 1').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(Date.now() - t0).toBeGreaterThanOrEqual(4900);
      expect(isPostgresUnavailable(err), String(err)).toBe(true);
    } finally {
      await db.destroy();
      for (const s of sockets) s.destroy();
      silent.close();
    }
  }, 15_000);
});
