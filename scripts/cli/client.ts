/**
 * The CLI's HTTP client: one place that knows the base URL, the token, and how an answer maps
 * to an exit code, so every command fails the same way a script can test for.
 */

/** Exit codes a script can use (also printed by `--help`). */
export const EXIT = {
  ok: 0,
  /** The API refused the call (4xx other than 404): bad input, a conflict, not allowed. */
  refused: 1,
  /** The command line itself was wrong; nothing was sent. */
  usage: 2,
  /** Headroom could not be reached, or answered 5xx/429: worth retrying later. */
  unavailable: 3,
  /** The thing named does not exist (or is not visible to this token). */
  notFound: 4,
} as const;

/** An error that knows the exit code it ends the process with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** A mistake on the command line. */
export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
  }
}

export type Json = Record<string, unknown>;

/** Where to talk to and as whom; flags win over HEADROOM_URL / HEADROOM_TOKEN. */
export interface Connection {
  url: string;
  token: string | undefined;
}

/** A thin fetch wrapper for Headroom's REST API. */
export class ApiClient {
  private readonly base: string;

  constructor(private readonly conn: Connection) {
    this.base = conn.url.replace(/\/+$/, '');
  }

  /** Sends one call; resolves with the JSON body, or throws a CliError carrying the exit code. */
  async call(method: string, path: string, body?: object): Promise<Json> {
    if (!this.conn.token) {
      throw new UsageError('no token: set HEADROOM_TOKEN or pass --token (mint one with: npm run token -- --role engineer --sub you --tenants yours)');
    }
    let res: Response;
    try {
      res = await fetch(this.base + path, {
        method,
        headers: { authorization: `Bearer ${this.conn.token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
        body: body ? JSON.stringify(body) : undefined,
        signal: AbortSignal.timeout(30_000),
      });
    } catch (err) {
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      throw new CliError(`cannot reach Headroom at ${this.base}: ${cause?.code ?? cause?.message ?? (err as Error).message}`, EXIT.unavailable);
    }
    const text = await res.text();
    let json: Json = {};
    try {
      json = text ? (JSON.parse(text) as Json) : {};
    } catch {
      throw new CliError(`${this.base}${path} answered ${res.status} with something that is not JSON (is HEADROOM_URL right?)`, EXIT.unavailable);
    }
    if (!res.ok) throw new CliError(`${json.title ?? res.statusText} (${json.code ?? res.status}): ${json.detail ?? text}`, exitFor(res.status));
    return json;
  }

  /** Every item of a paged list, following `nextCursor`. */
  async all(path: string, query: Record<string, string | undefined> = {}): Promise<Json[]> {
    const items: Json[] = [];
    let cursor: string | undefined;
    do {
      const q = new URLSearchParams(Object.entries({ limit: '200', ...query, cursor }).filter((e): e is [string, string] => e[1] !== undefined));
      const page = await this.call('GET', `${path}?${q}`);
      items.push(...(page.items as Json[]));
      cursor = (page.nextCursor as string | null) ?? undefined;
    } while (cursor);
    return items;
  }
}

function exitFor(status: number): number {
  if (status === 404) return EXIT.notFound;
  if (status === 429 || status >= 500) return EXIT.unavailable;
  return EXIT.refused;
}
