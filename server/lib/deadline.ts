/**
 * Deadlines on calls to external systems. A hung metadata engine, object store or mail server
 * must never hang a request or a pass: the call is given up after its deadline and the caller
 * sees a {@link DependencyUnavailableError} naming the dependency (503 on the API, `unknown`
 * in a pass). The call itself may still finish later; its result is then ignored.
 */

/** A dependency did not answer within its deadline, or refused to be reached. */
export class DependencyUnavailableError extends Error {
  constructor(
    /** What did not answer, e.g. "metadata engine etcd://127.0.0.1:2379". */
    readonly dependency: string,
    detail: string,
  ) {
    super(`${dependency}: ${detail}`);
    this.name = 'DependencyUnavailableError';
  }
}

/** Resolves as `work` does, or rejects with {@link DependencyUnavailableError} after `ms`. */
export async function withDeadline<T>(work: Promise<T>, ms: number, dependency: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DependencyUnavailableError(dependency, `no answer within ${ms} ms`)), ms);
  });
  work.catch(() => undefined); // a late failure after the deadline is not an unhandled rejection
  try {
    return await Promise.race([work, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
