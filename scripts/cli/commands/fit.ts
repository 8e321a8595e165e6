/**
 * `fit`: the pre-flight check a training script runs before saving a checkpoint. It prints the
 * verdict and exits {@link EXIT_NO_FIT} when the write would not fit, so
 * `npm run cli -- fit vol_… --bytes 40GB && save_checkpoint` stops before JuiceFS says ENOSPC.
 */
import { CliError, UsageError, type Json } from '../client.js';
import type { Command, CommandContext } from '../command.js';
import { required } from '../command.js';
import { parseCount, parseSize, size } from '../format.js';
import { emit } from '../output.js';

/** Exit code of `fit` when the write would not fit (the API answered; retrying will not help). */
export const EXIT_NO_FIT = 5;

const duration = (s: number) => (s >= 86_400 ? `${(s / 86_400).toFixed(1)} days` : s >= 3600 ? `${(s / 3600).toFixed(1)} hours` : `${Math.round(s / 60)} minutes`);

/** The answer in words: the verdict first, then what it sets off and how long the volume lasts. */
function showFit(ctx: CommandContext, f: Json): void {
  const charged = f.charged as Json;
  const used = f.used as Json;
  const room = f.room as Json;
  const soft = f.soft as Json;
  const hard = f.hard as Json;
  const lasts = f.lasts as Json | null;
  const blocked = f.blockedBy as string[];
  ctx.out(
    f.fits
      ? `fits: ${size(charged.mostBytes as number)} charged at most`
      : `does not fit: refused by ${blocked.join(', ')}${f.fitsAtBest ? ' (it would fit only if its files filled whole 4 KiB blocks)' : ''}`,
  );
  ctx.out(
    `volume: ${f.state}, ${size(used.bytes as number)} and ${used.inodes} inodes used; room ${room.bytes === null ? 'unlimited' : size(room.bytes as number)}, ${room.inodes === null ? 'unlimited' : room.inodes} inodes`,
  );
  ctx.out(`charged: ${charged.computation}`);
  if (soft.startsGrace) ctx.out(`soft limit: crossed; a grace period would start, ending ${soft.graceEndsAt}`);
  else if (soft.crosses) ctx.out('soft limit: crossed');
  if (hard.freezes) ctx.out('hard limit: reached; the volume would be frozen (writes stop) at the next pass');
  if (lasts)
    ctx.out(`at ${size(lasts.bytesPerDay as number)}/day the volume is full in ${duration(lasts.secondsToFull as number)}, ${duration(lasts.secondsToFullAfterWrite as number)} after this write`);
}

export const fitCommands: Command[] = [
  {
    name: 'fit',
    args: ['<volumeId>'],
    summary: `Would a write fit now? Prints the verdict; exits ${EXIT_NO_FIT} when it would not (call it before saving a checkpoint).`,
    options: { bytes: { type: 'string' }, inodes: { type: 'string' } },
    optionHelp: ['--bytes SIZE     bytes to write in all: 40GB, 1.5TiB, 1024 (required)', '--inodes N       new files and directories it creates (default 1; 0 = appending to one file)'],
    async run(ctx) {
      const q = new URLSearchParams();
      try {
        q.set('bytes', String(parseSize(required(ctx, 'bytes'))));
        if (ctx.values.inodes !== undefined) q.set('inodes', String(parseCount(String(ctx.values.inodes))));
      } catch (err) {
        throw err instanceof CliError ? err : new UsageError((err as Error).message);
      }
      const f = await ctx.api.call('GET', `/v1/volumes/${encodeURIComponent(ctx.args[0]!)}/fit?${q}`);
      emit(ctx, f, () => showFit(ctx, f));
      if (!f.fits) throw new CliError(`the write would not fit (${(f.blockedBy as string[]).join(', ')})`, EXIT_NO_FIT);
    },
  },
];
