/**
 * Named failpoints: places in a decision where a test can make the process die (SIGKILL, as a
 * power cut would) or the call throw, to prove that a restart completes or rolls back every
 * step. Off unless `FAILPOINTS` names them (`freeze.after-commit=crash,purge.after-metadata=error`);
 * production never sets it. Set once at start from the frozen config.
 */

/** Every failpoint, in the order the steps happen. */
export const FAILPOINTS = [
  'onboarding.after-insert',
  'onboarding.after-format',
  'freeze.after-commit',
  'unfreeze.after-commit',
  'grant.after-commit',
  'revert.after-commit',
  'purge.after-storage',
  'purge.after-metadata',
] as const;
export type FailpointName = (typeof FAILPOINTS)[number];
export type FailpointAction = 'crash' | 'error';

let active = new Map<FailpointName, FailpointAction>();

/** Parses `name=action,…`; unknown names or actions are a configuration error. */
export function parseFailpoints(spec: string | undefined): Map<FailpointName, FailpointAction> {
  const out = new Map<FailpointName, FailpointAction>();
  for (const part of (spec ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const [name, action = 'crash'] = part.split('=');
    if (!(FAILPOINTS as readonly string[]).includes(name!)) throw new Error(`unknown failpoint "${name}" (known: ${FAILPOINTS.join(', ')})`);
    if (action !== 'crash' && action !== 'error') throw new Error(`failpoint ${name}: action must be crash or error, not "${action}"`);
    out.set(name as FailpointName, action);
  }
  return out;
}

/** Arms the failpoints of this process (the composition root calls it with the config's). */
export function setFailpoints(points: ReadonlyMap<FailpointName, FailpointAction>): void {
  active = new Map(points);
}

/** Error a failpoint set to `error` throws. */
export class FailpointError extends Error {
  constructor(readonly failpoint: FailpointName) {
    super(`failpoint ${failpoint}`);
    this.name = 'FailpointError';
  }
}

/** Does nothing, unless this failpoint is armed: then the process dies, or the call throws. */
export function failpoint(name: FailpointName): void {
  const action = active.get(name);
  if (!action) return;
  if (action === 'crash') process.kill(process.pid, 'SIGKILL');
  throw new FailpointError(name);
}
