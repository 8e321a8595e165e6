/** A real SMTP server in-process (smtp-server), collecting parsed messages for assertions. */
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { freePort } from './servers.js';

/** A running test SMTP server. */
export interface TestSmtp {
  url: string;
  messages: ParsedMail[];
  /** Resolves once at least `n` messages arrived (or rejects after `timeoutMs`). */
  waitFor(n: number, timeoutMs?: number): Promise<ParsedMail[]>;
  /** Accepts each message only after `ms` (0: at once), as a slow relay does. */
  setDelay(ms: number): void;
  close(): Promise<void>;
}

/**
 * Starts an SMTP server on a loopback port (no TLS, no auth); `port` reuses one (a relay that
 * was down comes back at the same address). A delayed message is kept once it is accepted.
 */
export async function startSmtp(opts: { port?: number } = {}): Promise<TestSmtp> {
  const messages: ParsedMail[] = [];
  let delayMs = 0;
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, _session, cb) {
      simpleParser(stream)
        .then((m) => {
          const accept = () => {
            messages.push(m);
            cb();
          };
          if (delayMs > 0) setTimeout(accept, delayMs);
          else accept();
        })
        .catch((err: Error) => cb(err));
    },
  });
  const port = opts.port ?? (await freePort());
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    async waitFor(n, timeoutMs = 10_000) {
      const end = Date.now() + timeoutMs;
      while (messages.length < n) {
        if (Date.now() > end) throw new Error(`expected ${n} emails, got ${messages.length}`);
        await new Promise((r) => setTimeout(r, 20));
      }
      return messages;
    },
    setDelay: (ms) => {
      delayMs = ms;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
