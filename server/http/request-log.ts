/**
 * Request ids and one log line per request. Written by hand rather than with pino-http: the
 * child logger pino-http builds for every request was the largest single cost in bench:api.
 */
import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Logger } from 'pino';

declare module 'express-serve-static-core' {
  interface Request {
    /** Request id: the caller's `X-Request-Id` when sane, else a fresh UUID. */
    id?: string;
  }
}

const saneId = /^[\w.-]{1,100}$/;

/** Assigns `req.id`, echoes it as `X-Request-Id`, and logs method, url, status and duration. */
export function requestLog(log: Logger): RequestHandler {
  return (req, res, next) => {
    const given = req.headers['x-request-id'];
    const id = typeof given === 'string' && saneId.test(given) ? given : randomUUID();
    req.id = id;
    res.setHeader('X-Request-Id', id);
    const start = process.hrtime.bigint();
    res.on('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : 'info';
      if (!log.isLevelEnabled(level)) return;
      // Never the headers: they carry bearer tokens.
      log[level]({ reqId: id, method: req.method, url: req.originalUrl, status: res.statusCode, ms: Number(process.hrtime.bigint() - start) / 1e6, sub: req.principal?.sub }, 'request');
    });
    next();
  };
}
