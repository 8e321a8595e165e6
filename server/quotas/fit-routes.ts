/** HTTP route of the pre-flight check: GET /v1/volumes/{id}/fit. */
import express, { type Router } from 'express';
import { principalOf } from '../http/request-context.js';
import type { FitAnswer, FitService } from './fit-service.js';

const n = (x: bigint | null) => (x === null ? null : Number(x));

/** The API shape of a pre-flight answer (numbers: every figure is below 2^53 by the contract's bounds). */
export function presentFit(a: FitAnswer) {
  return {
    volumeId: a.volumeId,
    fits: a.fits,
    fitsAtBest: a.fitsAtBest,
    blockedBy: a.blockedBy,
    state: a.state,
    write: { bytes: Number(a.write.bytes), inodes: Number(a.write.inodes) },
    charged: { mostBytes: Number(a.charged.mostBytes), leastBytes: Number(a.charged.leastBytes), inodes: Number(a.charged.inodes), computation: a.charged.computation },
    used: { bytes: Number(a.used.bytes), inodes: Number(a.used.inodes), readAt: a.used.readAt.toISOString() },
    after: { bytes: Number(a.after.bytes), inodes: Number(a.after.inodes) },
    room: { bytes: n(a.room.bytes), inodes: n(a.room.inodes) },
    limits: { softBytes: n(a.quota.softBytes), hardBytes: n(a.quota.hardBytes), softInodes: n(a.quota.softInodes), hardInodes: n(a.quota.hardInodes), graceSeconds: a.quota.graceSeconds },
    juicefs: { capacity: Number(a.setting.capacity), inodes: Number(a.setting.inodes) },
    soft: { crosses: a.soft.crosses, alreadyOver: a.soft.alreadyOver, startsGrace: a.soft.startsGrace, graceEndsAt: a.soft.graceEndsAt?.toISOString() ?? null },
    hard: { reaches: a.hard.reaches, freezes: a.hard.freezes },
    lasts: a.lasts && { bytesPerDay: a.lasts.bytesPerDay, fullAt: a.lasts.fullAt.toISOString(), secondsToFull: a.lasts.secondsToFull, secondsToFullAfterWrite: a.lasts.secondsToFullAfterWrite },
  };
}

/** Router for /v1/volumes/{id}/fit (every role that can see the volume; reads only). */
export function fitRoutes(service: FitService): Router {
  const r = express.Router();
  r.get('/v1/volumes/:volumeId/fit', async (req, res) => {
    // The contract validated and coerced both: integers in 0..2^53-1, inodes defaulting to 1.
    const q = req.query as Record<string, unknown>;
    const write = { bytes: BigInt(q.bytes as number), inodes: BigInt((q.inodes as number | undefined) ?? 1) };
    res.json(presentFit(await service.check(principalOf(req), String(req.params.volumeId), write)));
  });
  return r;
}
