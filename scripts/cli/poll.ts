/** The CLI's `--wait`: re-read something until it reaches a final state. */

/**
 * Starting from `first`, calls `next` every `everyMs` until `done` holds, and returns that value
 * (`first` itself when it is already done). No deadline: the user interrupts a wait they give up on.
 */
export async function pollUntil<T>(first: T, done: (value: T) => boolean, next: (value: T) => Promise<T>, everyMs = 500): Promise<T> {
  let value = first;
  while (!done(value)) {
    await new Promise((r) => setTimeout(r, everyMs));
    value = await next(value);
  }
  return value;
}
